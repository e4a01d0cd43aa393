"""Engine benchmark: full 65,535-port connect scan of 127.0.0.1 against nmap, back to back,
and service-detection time for each real test server.

nmap (Debian package) is only a yardstick here; the product neither runs nor reads it.
Budget: the engine's median no slower than nmap's median.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rampart_scan.engine.scanner import EngineOptions, HostDone, scan
from rampart_scan.engine.services import detect
from rampart_scan.engine.targets import Host
from tests.servers import LAUNCHERS, ServerMissing, started


async def engine_full_range() -> tuple[float, dict[str, int]]:
    started_at = time.perf_counter()
    counts: dict[str, int] = {}
    async for event in scan(["127.0.0.1"], EngineOptions(ports="-")):
        if isinstance(event, HostDone):
            counts = event.report.counts
    return time.perf_counter() - started_at, counts


def nmap_full_range() -> float:
    started_at = time.perf_counter()
    subprocess.run(["nmap", "-sT", "-p-", "-n", "-Pn", "127.0.0.1"], capture_output=True, check=True)
    return time.perf_counter() - started_at


def detection_times() -> list[tuple[str, float, str]]:
    host = Host(ipaddress.ip_address("127.0.0.1"))
    rows = []
    for name in LAUNCHERS:
        try:
            with started(name) as server:
                began = time.perf_counter()
                info = asyncio.run(detect(host, server.port))
                rows.append((name, time.perf_counter() - began, f"{info.product} {info.version}".strip()))
        except ServerMissing as missing:
            rows.append((name, float("nan"), f"skipped: {missing}"))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    ours: list[float] = []
    theirs: list[float] = []
    counts: dict[str, int] = {}
    have_nmap = shutil.which("nmap") is not None
    for _ in range(args.runs):  # interleaved, so both see the same machine
        elapsed, counts = asyncio.run(engine_full_range())
        ours.append(elapsed)
        if have_nmap:
            theirs.append(nmap_full_range())
    median = statistics.median(ours)
    print(f"\nfull 65,535-port connect scan of 127.0.0.1, {args.runs} runs each, interleaved")
    rate = 65535 / median
    print(
        f"  rampart engine: median {median:.2f} s ({rate:,.0f} ports/s)  runs {[round(x, 2) for x in ours]}"
    )
    print(f"  states: {counts}")
    failed = False
    if have_nmap:
        nmap_median = statistics.median(theirs)
        print(f"  nmap -sT -p- -n -Pn: median {nmap_median:.2f} s  runs {[round(x, 2) for x in theirs]}")
        failed = median > nmap_median
        verdict = "FAIL" if failed else "PASS"
        print(
            f"  budget (engine median <= nmap median): {verdict} ({median / nmap_median:.0%} of nmap's time)"
        )
    else:
        print("  nmap not installed: apt-get install nmap to compare")
    print("\nservice detection, one port each (first matching probe wins):")
    for name, seconds, found in detection_times():
        print(f"  {name:<12} {seconds:6.2f} s  {found}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
