"""Vulnerability ledger benchmark on a real nx-27017 store (loopback only).

1. first sightings: N findings of one scan (N records created), one at a time and 16 at a time;
2. re-sightings: the same N problems seen by a second scan (N version-guarded updates);
3. redeliveries: the second scan's findings again (changes nothing);
4. settle: a third scan covering the N ports that sees none of them (N records resolved), then the
   same settle again (changes nothing);
5. listing: the first page (20, priority order) and the scan_id filter over the N records.

LEDGER_BENCH_FINDINGS (default 1000) sets N. Figures are printed; nothing is asserted.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pymongo import AsyncMongoClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rampart.lib.store import Document  # noqa: E402
from rampart_threat.findings.ledger import MongoFindingLedger  # noqa: E402
from rampart_threat.findings.model import Finding, FindingType, Severity  # noqa: E402
from rampart_threat.findings.ports import Coverage  # noqa: E402
from rampart_threat.findings.service import Listing, Viewer  # noqa: E402
from tests.servers import started  # noqa: E402

FINDINGS = int(os.environ.get("LEDGER_BENCH_FINDINGS", "1000"))
T0 = datetime(2026, 3, 1, tzinfo=UTC)
OWNER = Viewer("org_bench", True, "usr_bench")


def findings(scan_id: str, at: datetime) -> list[Finding]:
    return [
        Finding(
            org_id=OWNER.org_id,
            scan_id=scan_id,
            live=True,
            host="10.0.0.5",
            port=1000 + n,
            protocol="tcp",
            type=FindingType.VULNERABLE_SERVICE,
            subject="CVE-2024-6387",
            title="regreSSHion",
            severity=Severity.HIGH,
            detected_at=at,
            cvss_score=8.1,
            priority="attend",
            evidence={"service.version": "9.2p1"},
        )
        for n in range(FINDINGS)
    ]


async def timed(items: Sequence[Finding], call: Callable[[Finding], Awaitable[object]], width: int) -> None:
    latencies: list[float] = []

    async def one(finding: Finding) -> None:
        began = time.perf_counter()
        await call(finding)
        latencies.append(time.perf_counter() - began)

    began = time.perf_counter()
    for start in range(0, len(items), width):
        await asyncio.gather(*(one(f) for f in items[start : start + width]))
    elapsed = time.perf_counter() - began
    p50, p95 = statistics.median(latencies), statistics.quantiles(latencies, n=20)[18]
    rate = len(items) / elapsed
    print(f"    {rate:8.0f} /s   p50 {p50 * 1000:6.2f} ms   p95 {p95 * 1000:6.2f} ms  ({width} at a time)")


async def main(url: str) -> None:
    client: AsyncMongoClient[Document] = AsyncMongoClient(url, tz_aware=True)
    for width in (1, 16):
        db = client[f"ledger_bench_{width}"]
        await client.drop_database(db.name)
        ledger = MongoFindingLedger(db, clock=lambda: T0 + timedelta(days=3))
        await ledger.create_indexes()
        print(f"{FINDINGS} findings, {width} at a time")
        print("  1. first sightings (records created)")
        await timed(findings("scan_1", T0), ledger.record, width)
        print("  2. re-sightings by a second scan (records updated)")
        second = findings("scan_2", T0 + timedelta(days=1))
        await timed(second, ledger.record, width)
        print("  3. redeliveries of the second scan (nothing changes)")
        await timed(second, ledger.record, width)
        if width == 1:
            coverage = Coverage(
                "scan_3",
                OWNER.org_id,
                True,
                frozenset({"10.0.0.5"}),
                frozenset((1000 + n, "tcp") for n in range(FINDINGS)),
            )
            for label in ("settle (every record resolved)", "settle again (nothing changes)"):
                began = time.perf_counter()
                settled = await ledger.settle(coverage)
                print(f"  4. {label}: {time.perf_counter() - began:6.2f} s, resolved {settled.resolved}")
            for label, listing in (
                ("first page, priority order", Listing()),
                ("scan_id filter, first page", Listing(scan_id="scan_2")),
            ):
                began = time.perf_counter()
                page = await ledger.list(OWNER, listing)
                elapsed = (time.perf_counter() - began) * 1000
                print(f"  5. {label}: {elapsed:6.1f} ms ({len(page.items)} of {page.total})")
        await client.drop_database(db.name)
    await client.close()


if __name__ == "__main__":
    with started("nx-27017") as store:
        asyncio.run(main(f"mongodb://127.0.0.1:{store.port}/?directConnection=true"))
