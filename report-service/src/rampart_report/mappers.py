"""Between report-service's protobuf messages and its domain types."""

from __future__ import annotations

from rampart.lib.ids import from_timestamp, to_timestamp
from rampart.lib.scanevents import event_type_name
from rampart.report.v1 import report_pb2
from rampart.scan.v1 import scan_pb2
from rampart_report.domain import ScanTimeline, TimelineEntry


def timeline_entry(event: scan_pb2.ScanEvent) -> TimelineEntry:
    """A decoded scan event (rampart.lib.scanevents checked its ids) as a timeline entry."""
    return TimelineEntry(
        event_id=event.event_id,
        scan_id=event.scan_id,
        org_id=event.owner.org_id,
        user_id=event.owner.user_id,
        kind=event_type_name(event),
        sequence=event.sequence,
        occurred_at=from_timestamp(event.occurred_at),
    )


def timeline_message(timeline: ScanTimeline) -> report_pb2.ScanTimeline:
    return report_pb2.ScanTimeline(
        scan_id=timeline.scan_id,
        entries=[
            report_pb2.TimelineEntry(
                event_id=entry.event_id,
                type=entry.kind,
                sequence=entry.sequence,
                occurred_at=to_timestamp(entry.occurred_at),
            )
            for entry in timeline.entries
        ],
    )
