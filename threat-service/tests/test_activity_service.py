"""threat-service's use cases on an in-memory repository: no store, no broker, milliseconds."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import grpc
import pytest
from incidents_fakes import FakeAssets, FakeIncidents, RecordingNotifier
from nats.aio.msg import Msg

from rampart.common.v1 import common_pb2
from rampart.lib.events import Outcome, PoisonMessage
from rampart.scan.v1 import scan_pb2
from rampart.threat.v1 import threat_pb2, threat_pb2_grpc
from rampart_threat.bootstrap import assemble
from rampart_threat.domain import ActivityEvent, ActivityNotFound, Delivery, Observation, ScanActivity
from rampart_threat.feeds.service import FeedService
from rampart_threat.incidents.wiring import incident_parts
from rampart_threat.mappers import activity_event
from rampart_threat.service import ActivityService
from tests.unbuilt import assert_only_built

NO_FEEDS = FeedService(cast(Any, None))  # these tests never reach the feed store


def parts_on_fakes() -> Any:
    return assemble(
        FakeActivityRepository(),
        incidents=incident_parts(FakeIncidents(), FakeAssets(), RecordingNotifier()),
        knowledge=NO_FEEDS,
    )


class FakeActivityRepository:
    """The repository's contract in memory: markers by event id, one summary per scan."""

    def __init__(self) -> None:
        self.markers: dict[str, tuple[ActivityEvent, bool]] = {}
        self.summaries: dict[str, ScanActivity] = {}

    async def mark(self, event: ActivityEvent) -> Delivery:
        if event.event_id not in self.markers:
            self.markers[event.event_id] = (event, False)
            return Delivery.FIRST
        return Delivery.REPEATED if self.markers[event.event_id][1] else Delivery.INTERRUPTED

    async def add(self, event: ActivityEvent) -> None:
        summary = self.summaries.setdefault(event.scan_id, ScanActivity(event.scan_id, event.org_id, ""))
        summary.user_id = event.user_id
        summary.apply(event.observation)

    async def settle(self, event_id: str) -> None:
        self.markers[event_id] = (self.markers[event_id][0], True)

    async def mark_many(self, events: Sequence[ActivityEvent]) -> list[Delivery]:
        return [await self.mark(event) for event in events]

    async def add_many(self, events: Sequence[ActivityEvent]) -> None:
        for event in events:
            await self.add(event)

    async def settle_many(self, event_ids: Sequence[str]) -> None:
        for event_id in event_ids:
            await self.settle(event_id)

    async def observations(self, scan_id: str) -> list[Observation]:
        return [event.observation for event, _ in self.markers.values() if event.scan_id == scan_id]

    async def replace(self, activity: ScanActivity) -> None:
        self.summaries[activity.scan_id] = activity

    async def settle_scan(self, scan_id: str) -> None:
        for event_id, (event, _) in self.markers.items():
            if event.scan_id == scan_id:
                self.markers[event_id] = (event, True)

    async def get(self, org_id: str, scan_id: str) -> ScanActivity | None:
        found = self.summaries.get(scan_id)
        return found if found is not None and found.org_id == org_id else None


def event(n: int, kind: str = "progress", status: str = "running", scan_id: str = "scan_1") -> ActivityEvent:
    return ActivityEvent(f"{scan_id}.{kind}.{n}", scan_id, "org_a", "usr_a", Observation(kind, n, status))


@pytest.fixture
def repository() -> FakeActivityRepository:
    return FakeActivityRepository()


@pytest.fixture
def service(repository: FakeActivityRepository) -> ActivityService:
    return ActivityService(repository)


async def test_an_event_is_counted_in_its_scans_summary(service: ActivityService) -> None:
    assert await service.record(event(1, "queued", "queued")) is Outcome.APPLIED
    assert await service.record(event(2, "started")) is Outcome.APPLIED
    assert await service.record(event(3, "port_found")) is Outcome.APPLIED
    assert await service.record(event(4, "port_found")) is Outcome.APPLIED
    activity = await service.activity("org_a", "scan_1")
    assert activity.events_applied == 4
    assert activity.counts == {"queued": 1, "started": 1, "port_found": 2}
    assert activity.event_types() == ["queued", "started", "port_found"]
    assert activity.last_status == "running"


async def test_a_redelivered_event_is_applied_once(service: ActivityService) -> None:
    first = event(1, "queued", "queued")
    assert await service.record(first) is Outcome.APPLIED
    assert await service.record(first) is Outcome.DUPLICATE
    assert await service.record(first) is Outcome.DUPLICATE
    activity = await service.activity("org_a", "scan_1")
    assert (activity.events_applied, activity.counts) == (1, {"queued": 1})


async def test_the_newest_status_follows_sequence_not_arrival(service: ActivityService) -> None:
    await service.record(event(9, "completed", "completed"))
    await service.record(event(2, "started"))
    await service.record(event(1, "queued", "queued"))
    activity = await service.activity("org_a", "scan_1")
    assert activity.last_status == "completed"
    assert activity.last_sequence == 9
    assert activity.event_types() == ["queued", "started", "completed"]


async def test_an_event_whose_summary_update_was_lost_is_recounted_from_the_markers(
    service: ActivityService, repository: FakeActivityRepository
) -> None:
    """A crash after the marker, before the summary: the redelivery rebuilds the summary once."""
    await service.record(event(1, "queued", "queued"))
    lost = event(2, "started")
    assert await repository.mark(lost) is Delivery.FIRST  # the crash: marked, never added
    assert (await service.activity("org_a", "scan_1")).events_applied == 1
    assert await service.record(lost) is Outcome.APPLIED
    assert await service.record(lost) is Outcome.DUPLICATE
    activity = await service.activity("org_a", "scan_1")
    assert (activity.events_applied, activity.counts) == (2, {"queued": 1, "started": 1})
    assert (activity.last_status, activity.event_types()) == ("running", ["queued", "started"])
    assert all(applied for _, applied in repository.markers.values())


async def test_scans_are_summarised_separately(service: ActivityService) -> None:
    await service.record(event(1, scan_id="scan_1"))
    await service.record(event(1, scan_id="scan_2"))
    await service.record(event(2, scan_id="scan_2"))
    assert (await service.activity("org_a", "scan_1")).events_applied == 1
    assert (await service.activity("org_a", "scan_2")).events_applied == 2


async def test_another_organisations_scan_is_not_found(service: ActivityService) -> None:
    await service.record(event(1))
    with pytest.raises(ActivityNotFound) as missing:
        await service.activity("org_b", "scan_1")
    assert missing.value.grpc_code is grpc.StatusCode.NOT_FOUND
    assert missing.value.details == {"scan_id": "scan_1"}


async def test_a_scan_without_events_is_not_found(service: ActivityService) -> None:
    with pytest.raises(ActivityNotFound):
        await service.activity("org_a", "scan_none")


def test_a_recount_equals_applying_each_event_in_any_order() -> None:
    seen = [Observation("queued", 1, "queued"), Observation("port_found", 5, "running"),
            Observation("port_found", 3, "running"), Observation("completed", 8, "completed")]  # fmt: skip
    one_by_one = ScanActivity("scan_1", "org_a", "usr_a")
    for observation in seen:
        one_by_one.apply(observation)
    assert ScanActivity.recount("scan_1", "org_a", "usr_a", reversed(seen)) == one_by_one
    assert one_by_one.first_seen == {"queued": 1, "port_found": 3, "completed": 8}
    assert (one_by_one.events_applied, one_by_one.last_status) == (4, "completed")


def scan_event(**fields: Any) -> scan_pb2.ScanEvent:
    return scan_pb2.ScanEvent(
        event_id="scan_1.port_found.7",
        scan_id="scan_1",
        owner=common_pb2.Owner(user_id="usr_a", org_id="org_a"),
        type=scan_pb2.SCAN_EVENT_TYPE_PORT_FOUND,
        sequence=7,
        status=scan_pb2.SCAN_STATUS_RUNNING,
        **fields,
    )


def message(data: bytes) -> Msg:
    return Msg(_client=cast(Any, None), subject="scan.events.port_found", data=data)


def test_a_scan_event_maps_to_names_not_enum_numbers() -> None:
    assert activity_event(scan_event()) == ActivityEvent(
        "scan_1.port_found.7", "scan_1", "org_a", "usr_a", Observation("port_found", 7, "running")
    )


async def test_an_event_taken_from_the_stream_is_served_by_get_scan_activity() -> None:
    """Consumer → service → repository → servicer, wired by ``assemble`` around a fake."""
    parts = parts_on_fakes()
    assert await parts.on_scan_event(message(scan_event().SerializeToString())) is Outcome.APPLIED
    assert await parts.on_scan_event(message(scan_event().SerializeToString())) is Outcome.DUPLICATE
    request = threat_pb2.GetScanActivityRequest(owner=common_pb2.Owner(org_id="org_a"), scan_id="scan_1")
    reply = await parts.servicer.GetScanActivity(request, cast(Any, None))
    assert reply == threat_pb2.ScanActivity(
        scan_id="scan_1", last_status="running", events_applied=1, event_types=["port_found"]
    )


async def test_an_undecodable_event_is_poison_not_retried() -> None:
    parts = parts_on_fakes()
    with pytest.raises(PoisonMessage):
        await parts.on_scan_event(message(b"\xff\xff not a scan event"))


def test_activity_analysis_and_incidents_are_built_and_the_rest_answer_unimplemented() -> None:
    servicer = parts_on_fakes().servicer
    service = threat_pb2.DESCRIPTOR.services_by_name["ThreatService"]
    built = {
        "GetScanActivity",
        "AnalyzeThreat",
        "ListAnalyses",
        "GetAnalysis",
        "CreateIncident",
        "GetIncident",
        "UpdateIncident",
        "ListIncidents",
        "AddIncidentComment",
        "ImportFeed",
        "GetFeedStatus",
        "ImportIntel",
        "GetIntelStatus",
        "AddIndicatorListEntry",
        "ListIndicatorListEntries",
        "RemoveIndicatorListEntry",
        "GetCatalogEntry",
        "MatchCatalog",
        "ListVulnerabilities",
        "GetVulnerability",
        "UpdateVulnerability",
        "CountScanFindings",
        "ListScanFindings",
        "ListAssets",
        "GetAsset",
    }
    assert_only_built(servicer, threat_pb2_grpc.ThreatServiceServicer, service, built)
