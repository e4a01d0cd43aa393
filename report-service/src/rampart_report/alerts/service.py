"""Alert use cases: read and change an organisation's preferences, and turn a ScanChanged into the
``scan.changed`` webhook event those preferences select (or none)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from rampart_report.alerts.model import AlertPreferences, Change, RuleChange, alerting
from rampart_report.alerts.repository import PreferencesRepository
from rampart_report.webhooks.domain import WebhookEvent

SCAN_CHANGED = "scan.changed"


@dataclass(frozen=True)
class ScanChange:
    """A ScanChanged as the alert filter reads it."""

    event_id: str
    org_id: str
    scan_id: str
    against_scan_id: str
    targets: tuple[str, ...]
    counts: Mapping[str, int]
    changes: tuple[Change, ...]
    created_at: datetime
    expiring_within_days: int


class AlertService:
    def __init__(self, repository: PreferencesRepository, clock: Callable[[], float] = time.time) -> None:
        self._repository = repository
        self._clock = clock

    async def preferences(self, org_id: str) -> AlertPreferences:
        """The organisation's preferences; the defaults until it changes them."""
        return await self._repository.get(org_id) or AlertPreferences(org_id)

    async def update(
        self, org_id: str, changes: Mapping[str, RuleChange], replace_all: bool
    ) -> AlertPreferences:
        updated = (await self.preferences(org_id)).updated(changes, replace_all, self._clock())
        await self._repository.save(updated)
        return updated

    async def webhook_event(self, change: ScanChange) -> WebhookEvent | None:
        """``scan.changed`` carrying the changes that alert, or None when none does."""
        selected = alerting(await self.preferences(change.org_id), change.changes)
        if not selected:
            return None
        data: dict[str, object] = {
            "scan_id": change.scan_id,
            "against_scan_id": change.against_scan_id,
            "targets": list(change.targets),
            "alerts": list(selected),
            "changes": selected,
            "counts": dict(sorted(change.counts.items())),
        }
        return WebhookEvent(change.event_id, SCAN_CHANGED, change.org_id, change.created_at, data)
