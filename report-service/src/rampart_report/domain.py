"""Scan timelines: every event of a scan, once, in the order the scan produced them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class TimelineEntry:
    """One scan event as report-service keeps it, the raw material of reports and webhooks."""

    event_id: str
    scan_id: str
    org_id: str
    user_id: str
    kind: str
    sequence: int
    occurred_at: datetime | None


@dataclass(frozen=True)
class ScanTimeline:
    """A scan's entries by sequence, whatever order they arrived in."""

    scan_id: str
    entries: tuple[TimelineEntry, ...]

    @classmethod
    def of(cls, scan_id: str, entries: Iterable[TimelineEntry]) -> ScanTimeline:
        """Ordered by sequence (ties keep their order); a repeated event id counts once."""
        first: dict[str, TimelineEntry] = {}
        for entry in entries:
            first.setdefault(entry.event_id, entry)
        return cls(scan_id, tuple(sorted(first.values(), key=lambda entry: entry.sequence)))
