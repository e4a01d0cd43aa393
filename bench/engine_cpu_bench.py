"""CPU time per probe of the connect sweep, the figure that holds on a loaded machine.

scan() of our top-1000 ports x 127.0.1.0/24 and of all 65,535 ports of 127.0.0.1, five runs
each after one warm-up (which starts the sweep helper processes): CPU of this process
(getrusage) plus that of the helpers (/proc/<pid>/stat), divided by the probes sent.
    uv run --frozen python bench/engine_cpu_bench.py
"""

from __future__ import annotations

import asyncio
import os
import resource
import statistics
import sys
import time
from pathlib import Path

from rampart_scan.engine import procs
from rampart_scan.engine.scanner import EngineOptions, scan

TICK = os.sysconf("SC_CLK_TCK")


def helpers_cpu() -> float:
    total = 0.0
    for helper in procs._helpers:
        fields = Path(f"/proc/{helper.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / TICK  # utime, stime
    return total


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def sweep(targets: list[str], ports: str) -> None:
    async for _event in scan(targets, EngineOptions(ports=ports)):
        pass


def main() -> int:
    figures = (
        ("top-1000 x 254 hosts", ["127.0.1.0/24"], "top-1000", 254_000),
        ("65,535 ports of 127.0.0.1", ["127.0.0.1"], "-", 65_535),
    )
    for name, targets, ports, probes in figures:
        asyncio.run(sweep(targets, ports))  # warm-up: the helpers start here
        per_probe, walls = [], []
        for _ in range(5):
            cpu, helpers, began = own_cpu(), helpers_cpu(), time.perf_counter()
            asyncio.run(sweep(targets, ports))
            walls.append(time.perf_counter() - began)
            per_probe.append(((own_cpu() - cpu) + (helpers_cpu() - helpers)) * 1e6 / probes)
        print(
            f"{name}: CPU {statistics.median(per_probe):.2f} µs/probe {[round(x, 2) for x in per_probe]};"
            f" wall median {statistics.median(walls):.2f} s; load average {os.getloadavg()[0]:.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
