"""Scan activity: what threat-service knows of each scan, built from its events."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field

from rampart.lib.errors import NotFound


class ActivityNotFound(NotFound):
    """No event of this scan has reached threat-service (or the scan is another organisation's)."""


@dataclass(frozen=True)
class Observation:
    """What one scan event says: its type, its place in the scan and the scan's status then."""

    kind: str
    sequence: int
    status: str


@dataclass(frozen=True)
class ActivityEvent:
    """One scan event as threat-service records it."""

    event_id: str
    scan_id: str
    org_id: str
    user_id: str
    observation: Observation


class Delivery(enum.Enum):
    """How an event's arrival relates to what was recorded before."""

    FIRST = "first"  # never seen: apply it
    INTERRUPTED = "interrupted"  # seen, but the summary update was lost (a crash): recount
    REPEATED = "repeated"  # seen and applied: a redelivery, nothing to do


@dataclass
class ScanActivity:
    """One small summary per scan: counters per event type and the newest status.

    Its size does not grow with the number of events (docs/security/durability.md).
    """

    scan_id: str
    org_id: str
    user_id: str
    events_applied: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    first_seen: dict[str, int] = field(default_factory=dict)  # event type -> lowest sequence
    last_sequence: int = -1
    last_status: str = ""

    def apply(self, seen: Observation) -> None:
        """Count one event; the status of the highest-sequence event wins, whatever the order."""
        self.events_applied += 1
        self.counts[seen.kind] = self.counts.get(seen.kind, 0) + 1
        self.first_seen[seen.kind] = min(self.first_seen.get(seen.kind, seen.sequence), seen.sequence)
        if seen.sequence > self.last_sequence:
            self.last_sequence, self.last_status = seen.sequence, seen.status

    @classmethod
    def recount(
        cls, scan_id: str, org_id: str, user_id: str, observations: Iterable[Observation]
    ) -> ScanActivity:
        """The summary rebuilt from every event recorded for the scan (the recovery path)."""
        activity = cls(scan_id, org_id, user_id)
        for seen in observations:
            activity.apply(seen)
        return activity

    def event_types(self) -> list[str]:
        """Each event type seen, once, in the order the scan produced them."""
        return sorted(self.first_seen, key=lambda kind: (self.first_seen[kind], kind))
