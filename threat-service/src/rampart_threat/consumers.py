"""NATS entry points of threat-service: decode each event, hand it to the service layer."""

from __future__ import annotations

from nats.aio.msg import Msg

from rampart.lib.catalogue import subjects
from rampart.lib.events import Outcome
from rampart.lib.scanevents import decode_scan_event, scan_events_consumer
from rampart_threat.mappers import activity_event
from rampart_threat.service import ActivityService

# Durable on SCAN_EVENTS; its NATS permissions are rampart.lib.callers.DURABLES["threat"].
SCAN_EVENTS_CONSUMER = scan_events_consumer(subjects.THREAT_SCAN_EVENTS_DURABLE)


class ScanEventHandler:
    """Applies each scan event to the scan's activity (a poison message is dropped by the consumer)."""

    def __init__(self, activity: ActivityService) -> None:
        self._activity = activity

    async def __call__(self, message: Msg) -> Outcome:
        return await self._activity.record(activity_event(decode_scan_event(message)))
