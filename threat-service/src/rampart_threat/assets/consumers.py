"""The inventory's NATS entry point: each port event of a scan updates the host's asset.

A durable of its own on SCAN_EVENTS (``threat-scan-events-assets``), apart from the findings and
activity consumer, so keeping a large host's record never slows the findings of a scan.
"""

from __future__ import annotations

from collections.abc import Sequence

from nats.aio.msg import Msg

from rampart.lib.catalogue import subjects
from rampart.lib.events import Outcome, PoisonMessage
from rampart.lib.ids import from_timestamp
from rampart.lib.scanevents import decode_scan_event, scan_events_consumer
from rampart.scan.v1 import scan_pb2
from rampart_threat.assets.mappers import is_live, observation
from rampart_threat.assets.service import AssetService
from rampart_threat.findings.pipeline import parse_ranges

# Its NATS permissions are rampart.lib.callers.DURABLES["threat"].
ASSET_EVENTS_CONSUMER = scan_events_consumer(subjects.THREAT_ASSET_EVENTS_DURABLE)


class AssetRecorder:
    """Keeps the asset inventory from port_found / service_detected events, and closes the ports a
    completed scan covered without seeing them open (its final event lists the ports it probed).
    Other events pass by.

    The final event is applied here, on the inventory's own durable, rather than by the finding
    pipeline: the consumer applies a scan's events in stream order, so every port event of the scan
    is in the inventory before its end closes anything (another consumer's settle could run before
    this one caught up and close a port the scan saw open).

    Idempotent by itself (the record's methods change nothing for an observation they already
    hold), so a redelivery writes nothing and answers DUPLICATE.
    """

    def __init__(self, assets: AssetService) -> None:
        self._assets = assets

    async def __call__(self, message: Msg) -> Outcome:
        return await self.record(decode_scan_event(message))

    async def handle_many(self, messages: Sequence[Msg]) -> list[Outcome]:
        """Port events of a fetch (no final event: ``alone``), each host's asset written once for them."""
        events = [decode_scan_event(message) for message in messages]
        worlds: dict[tuple[str, bool], list[int]] = {}
        seen = [observation(event) for event in events]
        for i, event in enumerate(events):
            if seen[i] is not None and event.owner.org_id:
                worlds.setdefault((event.owner.org_id, is_live(event.owner)), []).append(i)
        outcomes = [Outcome.DUPLICATE] * len(events)  # nothing for the inventory: nothing written
        for (org_id, live), indexes in worlds.items():
            observations = [found for found in (seen[i] for i in indexes) if found is not None]
            if await self._assets.observe_many(org_id, live, observations):
                for i in indexes:
                    outcomes[i] = Outcome.APPLIED
        return outcomes

    @staticmethod
    def alone(message: Msg) -> bool:
        """A completed scan's event (closes ports: after every port event before it) and anything
        undecodable (dropped) are handled on their own."""
        try:
            return decode_scan_event(message).type == scan_pb2.SCAN_EVENT_TYPE_COMPLETED
        except PoisonMessage:
            return True

    async def record(self, event: scan_pb2.ScanEvent) -> Outcome:
        if event.type == scan_pb2.SCAN_EVENT_TYPE_COMPLETED:
            return await self.settle(event)
        seen = observation(event)
        if seen is None or not event.owner.org_id:
            return Outcome.DUPLICATE  # nothing for the inventory: acknowledged, nothing written
        changed = await self._assets.observe(event.owner.org_id, is_live(event.owner), seen)
        return Outcome.APPLIED if changed else Outcome.DUPLICATE

    async def settle(self, final: scan_pb2.ScanEvent) -> Outcome:
        at = from_timestamp(final.occurred_at)
        ports = frozenset(
            (port, final.coverage.protocol or "tcp") for port in parse_ranges(final.coverage.ports)
        )
        if at is None or not final.owner.org_id:
            return Outcome.DUPLICATE
        changed = await self._assets.settle_scan(
            final.owner.org_id, is_live(final.owner), final.scan_id, ports, at
        )
        return Outcome.APPLIED if changed else Outcome.DUPLICATE
