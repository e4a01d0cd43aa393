"""report-service's use cases on an in-memory repository: no store, no broker, milliseconds."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

import pytest
from nats.aio.msg import Msg
from timeline_fakes import FakeTimelineRepository
from webhook_fakes import FakeWebhookRepository, settings

from rampart.common.v1 import common_pb2
from rampart.lib.events import Outcome, PoisonMessage
from rampart.lib.ids import to_timestamp
from rampart.report.v1 import report_pb2, report_pb2_grpc
from rampart.scan.v1 import scan_pb2
from rampart_report.bootstrap import assemble
from rampart_report.domain import ScanTimeline, TimelineEntry
from rampart_report.mappers import timeline_entry
from rampart_report.service import TimelineService
from tests.unbuilt import assert_only_built

AT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
BUILT = {
    "GetScanTimeline",
    "ExportScan",
    "ExportVulnerabilities",
    "CreateWebhook",
    "GetWebhook",
    "ListWebhooks",
    "UpdateWebhook",
    "DeleteWebhook",
    "RotateWebhookSecret",
    "TestWebhook",
    "ListWebhookDeliveries",
    "RedeliverWebhookDelivery",
    "GetCompliance",
    "ListControls",
    "GetControl",
    "UpdateControl",
    "AddControlEvidence",
    "GetComplianceHistory",
    "CreateReport",
    "ListReports",
    "GetReport",
    "DownloadReport",
    "DeleteReport",
    "GetAlertPreferences",
    "UpdateAlertPreferences",
}


def entry(
    sequence: int, kind: str = "progress", scan_id: str = "scan_1", org_id: str = "org_a"
) -> TimelineEntry:
    return TimelineEntry(f"{scan_id}.{kind}.{sequence}", scan_id, org_id, "usr_a", kind, sequence, AT)


@pytest.fixture
def service() -> TimelineService:
    return TimelineService(FakeTimelineRepository())


async def test_entries_come_back_by_sequence_whatever_order_they_arrived_in(service: TimelineService) -> None:
    for sequence, kind in [(3, "port_found"), (1, "queued"), (9, "completed"), (2, "started")]:
        assert await service.record(entry(sequence, kind)) is Outcome.APPLIED
    timeline = await service.timeline("org_a", "scan_1")
    assert [(e.sequence, e.kind) for e in timeline.entries] == [
        (1, "queued"),
        (2, "started"),
        (3, "port_found"),
        (9, "completed"),
    ]


async def test_a_redelivered_event_is_recorded_once(service: TimelineService) -> None:
    assert await service.record(entry(1, "queued")) is Outcome.APPLIED
    assert await service.record(entry(1, "queued")) is Outcome.DUPLICATE
    timeline = await service.timeline("org_a", "scan_1")
    assert [e.event_id for e in timeline.entries] == ["scan_1.queued.1"]


async def test_a_timeline_holds_only_its_scan_of_its_organisation(service: TimelineService) -> None:
    await service.record(entry(1, scan_id="scan_1"))
    await service.record(entry(1, scan_id="scan_2"))
    await service.record(entry(2, scan_id="scan_1", org_id="org_b"))
    assert [e.event_id for e in (await service.timeline("org_a", "scan_1")).entries] == ["scan_1.progress.1"]
    assert (await service.timeline("org_b", "scan_2")).entries == ()


async def test_a_scan_without_events_has_an_empty_timeline(service: TimelineService) -> None:
    assert await service.timeline("org_a", "scan_none") == ScanTimeline("scan_none", ())


def test_a_timeline_keeps_the_first_of_a_repeated_event_id_and_ties_in_arrival_order() -> None:
    first, repeat = (
        entry(5, "port_found"),
        TimelineEntry("scan_1.port_found.5", "scan_1", "org_a", "u", "x", 0, None),
    )
    tie_a, tie_b = entry(5, "finding"), entry(5, "progress")
    timeline = ScanTimeline.of("scan_1", [first, tie_a, repeat, entry(1, "queued"), tie_b])
    assert [e.event_id for e in timeline.entries] == [
        "scan_1.queued.1",
        "scan_1.port_found.5",
        "scan_1.finding.5",
        "scan_1.progress.5",
    ]
    assert timeline.entries[1] is first


def scan_event(sequence: int = 7) -> scan_pb2.ScanEvent:
    return scan_pb2.ScanEvent(
        event_id=f"scan_1.port_found.{sequence}",
        scan_id="scan_1",
        owner=common_pb2.Owner(user_id="usr_a", org_id="org_a"),
        type=scan_pb2.SCAN_EVENT_TYPE_PORT_FOUND,
        sequence=sequence,
        occurred_at=to_timestamp(AT),
        status=scan_pb2.SCAN_STATUS_RUNNING,
    )


def message(data: bytes) -> Msg:
    return Msg(_client=cast(Any, None), subject="scan.events.port_found", data=data)


def test_a_scan_event_maps_to_an_entry_with_its_type_name_and_time() -> None:
    assert timeline_entry(scan_event()) == TimelineEntry(
        "scan_1.port_found.7", "scan_1", "org_a", "usr_a", "port_found", 7, AT
    )


async def test_events_taken_from_the_stream_are_served_by_get_scan_timeline() -> None:
    """Consumer → service → repository → servicer, wired by ``assemble`` around a fake."""
    parts = assemble(FakeTimelineRepository(), FakeWebhookRepository(), settings())
    for sequence in (8, 7, 8):
        await parts.on_scan_event(message(scan_event(sequence).SerializeToString()))
    request = report_pb2.GetScanTimelineRequest(owner=common_pb2.Owner(org_id="org_a"), scan_id="scan_1")
    reply = await parts.servicer.GetScanTimeline(request, cast(Any, None))
    assert [(e.event_id, e.type, e.sequence) for e in reply.entries] == [
        ("scan_1.port_found.7", "port_found", 7),
        ("scan_1.port_found.8", "port_found", 8),
    ]
    assert reply.entries[0].occurred_at.ToDatetime(tzinfo=UTC) == AT


async def test_threat_services_finding_events_stay_out_of_the_scans_timeline() -> None:
    repository = FakeTimelineRepository()
    parts = assemble(repository, FakeWebhookRepository(), settings())
    for kind in (scan_pb2.SCAN_EVENT_TYPE_FINDING, scan_pb2.SCAN_EVENT_TYPE_FINDINGS_SETTLED):
        event = scan_event()
        event.type, event.event_id = kind, f"scan_1.threat.{kind}"
        await parts.on_scan_event(message(event.SerializeToString()))
    await parts.on_scan_event(message(scan_event().SerializeToString()))
    assert [e.kind for e in await repository.entries("org_a", "scan_1")] == ["port_found"]


async def test_an_undecodable_event_is_poison_not_retried() -> None:
    with pytest.raises(PoisonMessage):
        await assemble(FakeTimelineRepository(), FakeWebhookRepository(), settings()).on_scan_event(
            message(b"\xff\xff not a scan event")
        )


def test_only_timelines_and_webhooks_are_built_and_the_rest_answer_unimplemented() -> None:
    servicer = assemble(FakeTimelineRepository(), FakeWebhookRepository(), settings()).servicer
    service = report_pb2.DESCRIPTOR.services_by_name["ReportService"]
    assert_only_built(servicer, report_pb2_grpc.ReportServiceServicer, service, BUILT)
