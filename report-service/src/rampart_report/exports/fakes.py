"""In-memory export sources for unit tests: scans and findings kept per organisation."""

from __future__ import annotations

from dataclasses import dataclass, field

from rampart_report.exports.errors import ExportTooLarge, FindingsUnavailable, ScanNotFound
from rampart_report.exports.model import (
    FindingEntry,
    HistoryPoint,
    PortEntry,
    ScanInfo,
    VulnerabilityFilter,
    VulnerabilityRecord,
)
from rampart_report.exports.ports import Requester


@dataclass
class MemoryScans:
    """``ScanSource`` over dicts keyed by (org_id, live, scan_id); records who asked."""

    scans: dict[tuple[str, bool, str], tuple[ScanInfo, tuple[PortEntry, ...]]] = field(default_factory=dict)
    history_points: dict[str, tuple[HistoryPoint, ...]] = field(default_factory=dict)  # by org_id
    asked: list[tuple[str, Requester]] = field(default_factory=list)

    def add(self, requester: Requester, scan: ScanInfo, ports: tuple[PortEntry, ...]) -> None:
        self.scans[(requester.org_id, requester.live, scan.scan_id)] = (scan, ports)

    async def results(self, requester: Requester, scan_id: str) -> tuple[ScanInfo, tuple[PortEntry, ...]]:
        self.asked.append(("results", requester))
        try:
            return self.scans[(requester.org_id, requester.live, scan_id)]
        except KeyError:
            raise ScanNotFound("scan not found", scan_id=scan_id) from None

    async def history(self, requester: Requester, scan: ScanInfo, limit: int) -> tuple[HistoryPoint, ...]:
        self.asked.append(("history", requester))
        return self.history_points.get(requester.org_id, ())[-limit:]


@dataclass
class MemoryFindings:
    """``FindingSource`` over a dict keyed by (org_id, scan_id); ``down`` makes it unavailable."""

    by_scan: dict[tuple[str, str], tuple[FindingEntry, ...]] = field(default_factory=dict)
    down: bool = False

    async def findings(self, requester: Requester, scan_id: str) -> tuple[FindingEntry, ...]:
        if self.down:
            raise FindingsUnavailable("threat-service did not answer")
        return self.by_scan.get((requester.org_id, scan_id), ())


@dataclass
class MemoryRecords:
    """``VulnerabilitySource`` over records kept per (org_id, live); filters on severity, status, host
    and scan (enough for the use case's tests; threat-service's own tests cover every filter)."""

    stored: dict[tuple[str, bool], list[tuple[VulnerabilityRecord, frozenset[str]]]] = field(
        default_factory=dict
    )

    def add(self, requester: Requester, record: VulnerabilityRecord, scans: tuple[str, ...] = ()) -> None:
        self.stored.setdefault((requester.org_id, requester.live), []).append((record, frozenset(scans)))

    async def records_of(
        self, requester: Requester, chosen: VulnerabilityFilter
    ) -> list[VulnerabilityRecord]:
        found = []
        for record, scans in self.stored.get((requester.org_id, requester.live), []):
            finding = record.finding
            if chosen.severities and finding.severity not in chosen.severities:
                continue
            if chosen.statuses and finding.status not in chosen.statuses:
                continue
            if chosen.host and finding.host != chosen.host:
                continue
            if chosen.scan_id and chosen.scan_id not in scans:
                continue
            found.append(record)
        return found

    async def records(
        self, requester: Requester, chosen: VulnerabilityFilter, limit: int
    ) -> tuple[VulnerabilityRecord, ...]:
        found = await self.records_of(requester, chosen)
        if len(found) > limit:
            raise ExportTooLarge("too many records", limit=limit, matched=len(found))
        return tuple(found)
