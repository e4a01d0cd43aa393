"""Use cases of threat-service on domain types: record scan events, answer for one scan."""

from __future__ import annotations

from collections.abc import Sequence

from rampart.lib.events import Outcome
from rampart_threat.domain import ActivityEvent, ActivityNotFound, Delivery, ScanActivity
from rampart_threat.repository import ActivityRepository


class ActivityService:
    """Keeps one activity summary per scan; each event id is applied to it at most once."""

    def __init__(self, repository: ActivityRepository) -> None:
        self._repository = repository

    async def record(self, event: ActivityEvent) -> Outcome:
        """Apply one scan event; a redelivery changes nothing and says so."""
        delivery = await self._repository.mark(event)
        if delivery is Delivery.REPEATED:
            return Outcome.DUPLICATE
        if delivery is Delivery.INTERRUPTED:
            await self._recount(event)
            return Outcome.APPLIED
        await self._repository.add(event)
        await self._repository.settle(event.event_id)
        return Outcome.APPLIED

    async def record_many(self, events: Sequence[ActivityEvent]) -> list[Outcome]:
        """``record`` for many events (a fetch of the consumer) in a few store round trips: markers,
        the summaries' counts, markers applied. An event stopped half-way before is recounted."""
        deliveries = await self._repository.mark_many(events)
        first = [
            event for event, delivery in zip(events, deliveries, strict=True) if delivery is Delivery.FIRST
        ]
        await self._repository.add_many(first)
        await self._repository.settle_many([event.event_id for event in first])
        outcomes: list[Outcome] = []
        for event, delivery in zip(events, deliveries, strict=True):
            if delivery is Delivery.REPEATED:
                outcomes.append(Outcome.DUPLICATE)
                continue
            if delivery is Delivery.INTERRUPTED:
                await self._recount(event)
            outcomes.append(Outcome.APPLIED)
        return outcomes

    async def _recount(self, event: ActivityEvent) -> None:
        """Stopped between the marker and the summary before: rebuild the summary from the markers."""
        observations = await self._repository.observations(event.scan_id)
        activity = ScanActivity.recount(event.scan_id, event.org_id, event.user_id, observations)
        await self._repository.replace(activity)
        await self._repository.settle_scan(event.scan_id)

    async def activity(self, org_id: str, scan_id: str) -> ScanActivity:
        found = await self._repository.get(org_id, scan_id)
        if found is None:
            raise ActivityNotFound("no activity recorded for this scan", scan_id=scan_id)
        return found
