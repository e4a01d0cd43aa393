"""Offline assistant figures, in process (the service layer over the test fakes: no gRPC hops).

- p50 / p95 latency of ``ask`` over a mix of question kinds on a scan of 200 open ports;
- p50 / p95 of ``explain`` (knowledge-base retrieval with FTS5 bm25) and the start-up cost of
  loading the knowledge base (our notes and cwe2's CWE catalogue) and indexing it.

Run: ``uv run python bench/assistant_bench.py [--n N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ai-service" / "tests"))

from assistant_fakes import ALICE, port, scan, world

from rampart_ai.domain import Level
from rampart_ai.knowledge.base import load
from rampart_ai.knowledge.library import Library
from rampart_ai.service import AskContext

QUESTIONS = (
    "What is exposed?",
    "What should I fix first?",
    "What changed since the last scan?",
    "How do I fix the Redis?",
    "Is 10.0.0.5 vulnerable to CVE-2023-48795?",
    "What does an open SSH port on 22 mean for security?",
)
SERVICES = ("ssh", "http", "https", "redis", "mysql", "ftp", "smtp", "rdp")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def main(n: int) -> None:
    started = time.perf_counter()
    load.cache_clear()
    Library(load())
    print(f"knowledge base load + index: {(time.perf_counter() - started) * 1000:.0f} ms")
    data = world()
    ports = tuple(
        port("scan_big", f"10.1.{i // 50}.{i % 50}", 1000 + i, SERVICES[i % 8], "x", "1.0")
        for i in range(200)
    )
    data.scans.add("org_alice", scan("scan_big", ("10.1.0.0/16",), ports, days=9))
    timings: list[float] = []
    for i in range(n):
        question = QUESTIONS[i % len(QUESTIONS)]
        t0 = time.perf_counter()
        await data.assistant.ask(ALICE, question, AskContext(scan_id="scan_big"))
        timings.append((time.perf_counter() - t0) * 1000)
    print(
        f"ask ({n} questions, 200 open ports): p50 {statistics.median(timings):.2f} ms, "
        f"p95 {percentile(timings, 0.95):.2f} ms"
    )
    timings = []
    for i in range(n):
        t0 = time.perf_counter()
        await data.assistant.explain(
            ALICE, ("tls", "port scanning", "sql injection", "CWE-79")[i % 4], Level.EXPERT
        )
        timings.append((time.perf_counter() - t0) * 1000)
    print(f"explain ({n}): p50 {statistics.median(timings):.2f} ms, p95 {percentile(timings, 0.95):.2f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=600)
    asyncio.run(main(parser.parse_args().n))
