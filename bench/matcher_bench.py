"""CVE matching at NVD scale: a synthetic knowledge base of ~300,000 CVEs, and a 1,000-open-port scan.

The real NVD feed is not at hand (and tests and benchmarks never download it), so the base is
generated. Its shape approximates NVD's (an assumption, not measured from the feed here): products
follow a Zipf popularity law over 25,000 vendor:product names (a few products with thousands of CVEs,
a long tail with one or two), and the 20 network servers the engine detects get 300 CVEs each (NVD
has ~100-400 for OpenSSH, nginx, httpd, BIND...); CPE match entries per CVE are 1 for 55 %, 2-3 for 25 %,
4-10 for 14 %, 11-50 for 5 % and 51-300 for 1 %; 70 % of entries are ranges inside one release branch
(``>= 7.0.0, < 7.0.14``, a third of them open at the start), the rest exact versions; 10 % of CVEs have
no NVD configuration and only CVE 5 ``affected`` ranges; descriptions are ~250 characters.

Run: ``uv run python bench/matcher_bench.py [--cves N] [--ports N]``. Prints build time, matching time
for the scan's services, and memory: the process's resident set (VmRSS, /proc/self/status) once the
threat-service modules are imported (the service's own baseline), after the index is built from a
stream of generated records (what the service holds: it indexes the store's records a batch at a time
and keeps no full record), and at its peak (VmHWM). Matching returns verdicts without records; the
service reads the records of the CVEs it returns from the feed store (not timed here).
"""

from __future__ import annotations

import argparse
import gc
import random
import time
from collections.abc import Iterator

from rampart_threat.knowledge.matcher import KnowledgeIndex, Matcher, Query, match_many
from rampart_threat.knowledge.model import (
    Affected,
    AffectedVersion,
    ConfigNode,
    Configuration,
    CpeMatch,
    CveRecord,
    CvssMetric,
    Description,
    Origin,
)

REAL = [
    ("openbsd", "openssh"),
    ("f5", "nginx"),
    ("apache", "http_server"),
    ("redis", "redis"),
    ("postgresql", "postgresql"),
    ("oracle", "mysql"),
    ("mariadb", "mariadb"),
    ("openssl", "openssl"),
    ("exim", "exim"),
    ("postfix", "postfix"),
    ("isc", "bind"),
    ("haproxy", "haproxy"),
    ("memcached", "memcached"),
    ("eclipse", "mosquitto"),
    ("samba", "samba"),
    ("proftpd", "proftpd"),
    ("vsftpd_project", "vsftpd"),
    ("dovecot", "dovecot"),
    ("squid-cache", "squid"),
    ("lighttpd", "lighttpd"),
]
FILLER = (
    "allows remote attackers to cause a denial of service or possibly execute arbitrary code via a crafted "
)


def _products(n: int) -> list[tuple[str, str]]:
    return REAL + [(f"vendor{i}", f"product{i}") for i in range(n - len(REAL))]


def _entries_per_cve(rng: random.Random) -> int:
    r = rng.random()
    if r < 0.55:
        return 1
    if r < 0.80:
        return rng.randint(2, 3)
    if r < 0.94:
        return rng.randint(4, 10)
    if r < 0.99:
        return rng.randint(11, 50)
    return rng.randint(51, 300)


def _version(rng: random.Random) -> str:
    return f"{rng.randint(0, 15)}.{rng.randint(0, 30)}.{rng.randint(0, 40)}"


def build(n_cves: int, seed: int = 7) -> Iterator[CveRecord]:
    rng = random.Random(seed)
    products = _products(25_000)
    weights = [1.0 / (i + 1) ** 1.1 for i in range(len(products))]
    picks = [i % len(REAL) for i in range(len(REAL) * 300)]
    picks += rng.choices(range(len(REAL), len(products)), weights=weights[len(REAL) :], k=n_cves - len(picks))
    for i, p in enumerate(picks):
        vendor, product = products[p]
        metric = CvssMetric(
            "3.1", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8, "CRITICAL", "nvd@nist.gov", "Primary"
        )
        desc = (
            Description(
                "en", f"{product} before {_version(rng)} {FILLER}{FILLER[: rng.randint(20, 60)]}request."
            ),
        )
        cve_id = f"CVE-{2000 + i % 25}-{100000 + i}"
        if rng.random() < 0.10:
            hi = _version(rng)
            versions = (AffectedVersion("0", "affected", "semver", less_than=hi),)
            affected = (Affected(Origin.CNA, "cna", vendor, product, "unaffected", versions),)
            yield CveRecord(id=cve_id, metrics=(metric,), descriptions=desc, affected=affected)
            continue
        matches = []
        for _ in range(_entries_per_cve(rng)):
            if rng.random() < 0.70:
                major, minor = rng.randint(0, 15), rng.randint(0, 30)
                lo = None if rng.random() < 0.33 else f"{major}.{minor}.0"
                hi = f"{major}.{minor}.{rng.randint(1, 40)}"
                crit = f"cpe:2.3:a:{vendor}:{product}:*:*:*:*:*:*:*:*"
                matches.append(CpeMatch(True, crit, version_start_including=lo, version_end_excluding=hi))
            else:
                matches.append(CpeMatch(True, f"cpe:2.3:a:{vendor}:{product}:{_version(rng)}:*:*:*:*:*:*:*"))
        conf = Configuration(nodes=(ConfigNode("OR", False, tuple(matches)),))
        yield CveRecord(id=cve_id, metrics=(metric,), descriptions=desc, configurations=(conf,))


def scan(n_ports: int, distinct: int, seed: int = 11) -> list[Query]:
    """Services of a scan: mostly the common servers, some long-tail products, some repeated on many hosts."""
    rng = random.Random(seed)
    products = _products(25_000)
    out: list[Query] = []
    for _ in range(min(n_ports, distinct)):
        vendor, product = rng.choice(REAL) if rng.random() < 0.7 else products[rng.randint(0, 2000)]
        version = f"{rng.randint(0, 15)}.{rng.randint(0, 30)}.{rng.randint(0, 3)}"
        out.append(Query(cpe=f"cpe:2.3:a:{vendor}:{product}:{version}:*:*:*:*:*:*:*"))
    return [out[i % len(out)] for i in range(n_ports)]


def memory() -> dict[str, float]:
    """VmRSS (resident now) and VmHWM (peak resident) of this process, in MB."""
    out = {}
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                out[name] = int(value.split()[0]) / 1024
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cves", type=int, default=300_000)
    parser.add_argument("--ports", type=int, default=1_000)
    parser.add_argument("--distinct", type=int, default=1_000, help="distinct services among the ports")
    args = parser.parse_args()
    import rampart_threat.api
    import rampart_threat.bootstrap  # noqa: F401

    baseline = memory()["VmRSS"]
    entries = 0

    def counted() -> Iterator[CveRecord]:
        nonlocal entries
        for record in build(args.cves):
            entries += sum(len(n.cpe_match) for c in record.configurations for n in c.nodes)
            yield record

    t1 = time.perf_counter()
    index = KnowledgeIndex(counted())
    t2 = time.perf_counter()
    gc.collect()
    built = memory()["VmRSS"]
    t_gc = time.perf_counter()
    gc.collect()
    t_gc = time.perf_counter() - t_gc
    gc.freeze()  # as threat-service does once an index is built
    t_frozen = time.perf_counter()
    gc.collect()
    t_frozen = time.perf_counter() - t_frozen
    matcher = Matcher(index)
    queries = scan(args.ports, args.distinct)
    t3, c3 = time.perf_counter(), time.process_time()
    results = match_many(matcher, queries)
    t4, c4 = time.perf_counter(), time.process_time()
    typical = scan(args.ports, 150)
    t5, c5 = time.perf_counter(), time.process_time()
    match_many(matcher, typical)
    t6, c6 = time.perf_counter(), time.process_time()
    after = memory()
    print(f"knowledge base: {len(index):,} synthetic CVEs, {entries:,} cpeMatch entries")
    print(f"index build (records generated as it goes): {t2 - t1:.1f} s")
    distinct = len(set(queries))
    hits = sum(len(r) for r in results)
    print(
        f"match {len(queries):,} services ({distinct:,} distinct): {t4 - t3:.3f} s ({c4 - c3:.3f} s CPU),",
        f"{hits:,} CVE verdicts returned",
    )
    print(
        f"match {len(typical):,} services (150 distinct, many hosts alike): {t6 - t5:.3f} s",
        f"({c6 - c5:.3f} s CPU)",
    )
    print(
        f"a full garbage collection with the index in memory: {t_gc:.3f} s;",
        f"after gc.freeze() (as the service does): {t_frozen:.3f} s",
    )
    print(
        f"RSS: {baseline:.0f} MB with the threat-service modules imported, {built:.0f} MB after building",
        f"the index, {after['VmRSS']:.0f} MB after matching; peak {after['VmHWM']:.0f} MB (target < 500 MB)",
    )


if __name__ == "__main__":
    main()
