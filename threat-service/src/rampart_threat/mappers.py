"""Between threat-service's protobuf messages and its domain types."""

from __future__ import annotations

from rampart.lib.scanevents import event_type_name
from rampart.scan.v1 import scan_pb2
from rampart.threat.v1 import threat_pb2
from rampart_threat.domain import ActivityEvent, Observation, ScanActivity

STATUS_NAMES = {
    value: name.removeprefix("SCAN_STATUS_").lower() for name, value in scan_pb2.ScanStatus.items()
}


def activity_event(event: scan_pb2.ScanEvent) -> ActivityEvent:
    """A decoded scan event (rampart.lib.scanevents checked its ids) as threat-service records it."""
    return ActivityEvent(
        event_id=event.event_id,
        scan_id=event.scan_id,
        org_id=event.owner.org_id,
        user_id=event.owner.user_id,
        observation=Observation(event_type_name(event), event.sequence, STATUS_NAMES[event.status]),
    )


def activity_message(activity: ScanActivity) -> threat_pb2.ScanActivity:
    return threat_pb2.ScanActivity(
        scan_id=activity.scan_id,
        last_status=activity.last_status,
        events_applied=activity.events_applied,
        event_types=activity.event_types(),
    )
