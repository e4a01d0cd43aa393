"""In-memory scan-service for diff reports and reports over assets: DiffScans and the listing."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from rampart_report.exports.errors import ScanNotFound
from rampart_report.exports.model import ScanInfo
from rampart_report.exports.ports import Requester
from rampart_report.exports.samples import SCAN
from rampart_report.reports.diff import ResultsDiff
from rampart_report.reports.model import AssetNotFound, NoScanToCompare, ScanNotFinished

NOT_SET = datetime.min.replace(tzinfo=UTC)


@dataclass
class FakeScans:
    """``DiffSource`` and ``ScanFinder`` over scans kept per (org, live); ``changes`` is what a
    diff of a pair shows (keyed by the newer scan's id)."""

    scans: dict[tuple[str, bool], list[ScanInfo]] = field(default_factory=dict)
    changes: dict[str, ResultsDiff] = field(default_factory=dict)
    assets: dict[tuple[str, bool, str], tuple[str, ...]] = field(default_factory=dict)  # (org, live, id)
    diffs_asked: list[tuple[str, str]] = field(default_factory=list)

    def add(self, requester: Requester, scan: ScanInfo) -> ScanInfo:
        self.scans.setdefault((requester.org_id, requester.live), []).append(scan)
        return scan

    def _get(self, requester: Requester, scan_id: str) -> ScanInfo:
        for scan in self.scans.get((requester.org_id, requester.live), []):
            if scan.scan_id == scan_id:
                return scan
        raise ScanNotFound("scan not found", scan_id=scan_id)

    async def diff(self, requester: Requester, scan_id: str, against: str) -> ResultsDiff:
        self.diffs_asked.append((scan_id, against))
        scan = self._get(requester, scan_id)
        if against:
            older = self._get(requester, against)
        else:  # the previous completed scan of the same targets
            earlier = [
                s
                for s in self.scans[(requester.org_id, requester.live)]
                if s.targets == scan.targets
                and s.status == "completed"
                and s.created_at
                and scan.created_at
                and s.created_at < scan.created_at
            ]
            if not earlier:
                raise NoScanToCompare("no earlier completed scan of the same targets", scan_id=scan_id)
            older = max(earlier, key=lambda s: s.created_at or NOT_SET)
        if "completed" not in (scan.status, older.status) or scan.status != older.status:
            raise ScanNotFinished("the scan has not finished", scan_id=scan_id)
        shown = self.changes.get(scan.scan_id, ResultsDiff(scan, older))
        return replace(shown, scan=scan, against=older)

    async def completed(self, requester: Requester, start: datetime, end: datetime) -> tuple[ScanInfo, ...]:
        return tuple(
            s
            for s in self.scans.get((requester.org_id, requester.live), [])
            if s.status == "completed" and s.created_at is not None and start <= s.created_at <= end
        )

    async def asset_hosts(self, requester: Requester, asset_id: str) -> tuple[str, ...]:
        try:
            return self.assets[(requester.org_id, requester.live, asset_id)]
        except KeyError:
            raise AssetNotFound("asset not found", asset_id=asset_id) from None


def scan(
    scan_id: str, days_ago: float, now: datetime, targets: tuple[str, ...] = SCAN.targets, **fields: object
) -> ScanInfo:
    at = now - timedelta(days=days_ago)
    base = replace(
        SCAN, scan_id=scan_id, targets=targets, created_at=at, completed_at=at + timedelta(minutes=3)
    )
    return replace(base, **fields)  # type: ignore[arg-type]
