"""Threat-feed lookups at 1,000,000 indicators: import time, memory, lookup latency.

No feed is downloaded: the feed is generated, as a plain list (one indicator per line) whose mix
approximates what operators load (an assumption, not measured): 55 % IPv4 addresses, 5 % IPv6, 20 %
domains, 15 % SHA-256, 5 % URLs, plus 20,000 CIDR networks in DROP form (/16 to /24). Import is
reading the text (detect, normalise) and building the in-memory index the lookups use; writing the
generation to the store is not part of it. Lookups are a mix of hits and misses for every kind,
IPv4 misses included (each probes every prefix length present).

Run: ``uv run python bench/intel_bench.py [--indicators N] [--lookups N]``.
"""

from __future__ import annotations

import argparse
import ipaddress
import random
import resource
import statistics
import time

from rampart_threat.intel.index import IndicatorIndex
from rampart_threat.intel.readers import read_drop, read_plain


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * resource.getpagesize() / 2**20


def generate(count: int, rng: random.Random) -> tuple[str, str, list[tuple[str, str]]]:
    lines, probes = [], []
    for n in range(count):
        draw = rng.random()
        if draw < 0.55:
            value, kind = str(ipaddress.IPv4Address(rng.getrandbits(32))), "ipv4"
        elif draw < 0.60:
            value, kind = str(ipaddress.IPv6Address((0x2001_0DB8 << 96) | rng.getrandbits(64))), "ipv6"
        elif draw < 0.80:
            value, kind = f"h{n:x}-{rng.getrandbits(24):x}.example{n % 97}.net", "domain"
        elif draw < 0.95:
            value, kind = f"{rng.getrandbits(256):064x}", "sha256"
        else:
            value, kind = f"http://d{n:x}.example.org/p/{rng.getrandbits(32):x}", "url"
        lines.append(value)
        if n % 50 == 0:
            probes.append((kind, value))
    networks = []
    for _ in range(20_000):
        prefix = rng.randint(16, 24)
        base = rng.getrandbits(32) >> (32 - prefix) << (32 - prefix)
        networks.append(f"{ipaddress.IPv4Address(base)}/{prefix} ; SBL{rng.randint(1, 999999)}")
    return "\n".join(lines), "\n".join(networks), probes


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--indicators", type=int, default=1_000_000)
    parser.add_argument("--lookups", type=int, default=100_000)
    args = parser.parse_args()
    rng = random.Random(12)
    plain, drop, hits = generate(args.indicators, rng)
    base = rss_mb()

    started = time.perf_counter()
    listed = read_plain(plain)
    networks = read_drop(drop)
    read_seconds = time.perf_counter() - started
    del plain, drop
    index = IndicatorIndex()
    index.add_all("bulk", listed.indicators, None)
    index.add_all("drop", networks.indicators, None)
    import_seconds = time.perf_counter() - started
    del listed, networks
    memory = rss_mb() - base

    misses = [("ipv4", str(ipaddress.IPv4Address(rng.getrandbits(32)))) for _ in range(len(hits))]
    misses += [("domain", f"nothing{n}.example.com") for n in range(len(hits) // 4)]
    misses += [("sha256", f"{rng.getrandbits(256):064x}") for _ in range(len(hits) // 4)]
    probes = [rng.choice(hits if rng.random() < 0.5 else misses) for _ in range(args.lookups)]
    timings = []
    found = 0
    for kind, value in probes:
        start = time.perf_counter_ns()
        found += bool(index.lookup(kind, value))
        timings.append(time.perf_counter_ns() - start)
    timings.sort()
    quantiles = statistics.quantiles(timings, n=100)

    print(f"intel index: {index.size:,} indicators ({args.indicators:,} listed + 20,000 networks)")
    print(f"  import (read + normalise + index): {import_seconds:.1f} s (reading alone {read_seconds:.1f} s)")
    print(f"  memory of the index (RSS growth):  {memory:,.0f} MB")
    print(f"  lookups: {len(probes):,}, {found:,} with a hit")
    p50, p95, p99 = (quantiles[i] / 1000 for i in (49, 94, 98))
    print(f"  lookup p50 {p50:.1f} µs, p95 {p95:.1f} µs, p99 {p99:.1f} µs")


if __name__ == "__main__":
    main()
