"""The timeline repository's contract in memory."""

from __future__ import annotations

from rampart_report.domain import TimelineEntry


class FakeTimelineRepository:
    """The repository's contract in memory: one entry per event id, in arrival order."""

    def __init__(self) -> None:
        self.stored: dict[str, TimelineEntry] = {}

    async def add(self, entry: TimelineEntry) -> bool:
        if entry.event_id in self.stored:
            return False
        self.stored[entry.event_id] = entry
        return True

    async def entries(self, org_id: str, scan_id: str) -> list[TimelineEntry]:
        return [e for e in self.stored.values() if (e.org_id, e.scan_id) == (org_id, scan_id)]
