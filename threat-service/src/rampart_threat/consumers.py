"""NATS entry points of threat-service: decode each event, hand it to the service layer."""

from __future__ import annotations

from nats.aio.msg import Msg

from rampart.lib.catalogue import subjects
from rampart.lib.events import REQUEST_ID_HEADER, Outcome
from rampart.lib.scanevents import decode_scan_event, scan_events_consumer
from rampart_threat.findings.pipeline import OWN_EVENTS, FindingPipeline
from rampart_threat.mappers import activity_event
from rampart_threat.service import ActivityService

# Durable on SCAN_EVENTS; its NATS permissions are rampart.lib.callers.DURABLES["threat"].
SCAN_EVENTS_CONSUMER = scan_events_consumer(subjects.THREAT_SCAN_EVENTS_DURABLE)


class ScanEventHandler:
    """Applies each scan event to the scan's activity and findings (a poison message is dropped by
    the consumer). The pipeline's own events come back on the same stream: they are skipped."""

    def __init__(self, activity: ActivityService, findings: FindingPipeline | None = None) -> None:
        self._activity = activity
        self._findings = findings  # idempotent by itself: runs again on a redelivery

    async def __call__(self, message: Msg) -> Outcome:
        event = decode_scan_event(message)
        if event.type in OWN_EVENTS:
            return Outcome.DUPLICATE
        if self._findings is not None:
            await self._findings.apply(event, (message.headers or {}).get(REQUEST_ID_HEADER, ""))
        return await self._activity.record(activity_event(event))
