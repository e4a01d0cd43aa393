"""The inventory's NATS entry point: each port event of a scan updates the host's asset.

A durable of its own on SCAN_EVENTS (``threat-scan-events-assets``), apart from the findings and
activity consumer, so keeping a large host's record never slows the findings of a scan.
"""

from __future__ import annotations

from nats.aio.msg import Msg

from rampart.lib.catalogue import subjects
from rampart.lib.events import Outcome
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
