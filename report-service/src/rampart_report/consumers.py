"""NATS entry points of report-service: decode each event, hand it to the service layer."""

from __future__ import annotations

from nats.aio.msg import Msg

from rampart.lib.catalogue import subjects
from rampart.lib.events import Outcome
from rampart.lib.scanevents import FINDING_EVENTS, decode_scan_event, scan_events_consumer
from rampart_report.mappers import timeline_entry
from rampart_report.service import TimelineService

# Durable on SCAN_EVENTS; its NATS permissions are rampart.lib.callers.DURABLES["report"].
SCAN_EVENTS_CONSUMER = scan_events_consumer(subjects.REPORT_SCAN_EVENTS_DURABLE)


class ScanEventHandler:
    """Adds each scan event to the scan's timeline (a poison message is dropped by the consumer).
    The timeline is the scan's own lifecycle: threat-service's finding events are not part of it."""

    def __init__(self, timelines: TimelineService) -> None:
        self._timelines = timelines

    async def __call__(self, message: Msg) -> Outcome:
        event = decode_scan_event(message)
        if event.type in FINDING_EVENTS:
            return Outcome.DUPLICATE
        return await self._timelines.record(timeline_entry(event))
