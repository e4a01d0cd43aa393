"""Use cases of report-service on domain types: record scan events, read a scan's timeline."""

from __future__ import annotations

from rampart.lib.events import Outcome
from rampart_report.domain import ScanTimeline, TimelineEntry
from rampart_report.repository import TimelineRepository


class TimelineService:
    """Keeps one timeline entry per event id."""

    def __init__(self, repository: TimelineRepository) -> None:
        self._repository = repository

    async def record(self, entry: TimelineEntry) -> Outcome:
        """Add the event to its scan's timeline; a redelivery changes nothing and says so."""
        return Outcome.APPLIED if await self._repository.add(entry) else Outcome.DUPLICATE

    async def timeline(self, org_id: str, scan_id: str) -> ScanTimeline:
        """The organisation's timeline of the scan; empty when none of its events arrived (yet)."""
        return ScanTimeline.of(scan_id, await self._repository.entries(org_id, scan_id))
