"""Scan activity on the real store: each event counts once, and the summary stays small."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator

import bson
import pytest
from pymongo import AsyncMongoClient, monitoring
from pymongo.asynchronous.database import AsyncDatabase

from rampart.common.v1 import common_pb2
from rampart.lib.events import Outcome
from rampart.lib.ids import to_timestamp, utcnow
from rampart.lib.store import Document
from rampart.scan.v1 import scan_pb2
from rampart_threat.domain import ScanActivity
from rampart_threat.mappers import activity_event
from rampart_threat.repository import MongoActivityRepository
from rampart_threat.service import ActivityService
from tests.servers import Running, started

pytestmark = pytest.mark.service  # real servers or a real store: the middle tier

OWNER = common_pb2.Owner(user_id="usr_a", org_id="org_a")
EVENTS = 10_000


class Writes(monitoring.CommandListener):
    """Counts the commands sent to the store."""

    def __init__(self) -> None:
        self.count = 0

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.count += 1

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


@pytest.fixture(scope="module")
def store_server() -> Iterator[Running]:
    with started("nx-27017") as server:
        yield server


@pytest.fixture
async def store(store_server: Running) -> AsyncIterator[tuple[AsyncMongoClient[Document], Writes]]:
    writes = Writes()
    client: AsyncMongoClient[Document] = AsyncMongoClient(
        f"mongodb://127.0.0.1:{store_server.port}/?directConnection=true", event_listeners=[writes]
    )
    yield client, writes
    await client.close()


def progress(scan_id: str, n: int, kind: int = scan_pb2.SCAN_EVENT_TYPE_PROGRESS) -> scan_pb2.ScanEvent:
    return scan_pb2.ScanEvent(
        event_id=f"{scan_id}.progress.1.{n}",
        scan_id=scan_id,
        owner=OWNER,
        type=kind,
        sequence=1000 + n,
        occurred_at=to_timestamp(utcnow()),
        status=scan_pb2.SCAN_STATUS_RUNNING,
    )


async def service_on(db: AsyncDatabase[Document]) -> ActivityService:
    repository = MongoActivityRepository(db)
    await repository.create_indexes()
    return ActivityService(repository)


def test_last_status_and_types_follow_sequence_not_arrival() -> None:
    doc = ScanActivity(
        "scan_x",
        "org_a",
        "usr_a",
        last_status="completed",
        first_seen={"completed": 9, "queued": 1, "started": 2},
    )
    assert doc.last_status == "completed"
    assert doc.event_types() == ["queued", "started", "completed"]
    assert ScanActivity("scan_x", "org_a", "usr_a").last_status == ""


@pytest.mark.timeout(300)
async def test_a_10000_event_scan_costs_the_same_per_event_and_stays_small(
    store: tuple[AsyncMongoClient[Document], Writes],
) -> None:
    """Every event costs the same store commands; the summary never grows with the scan."""
    client, writes = store
    activity = await service_on(client["threat_big"])
    scan_id = f"scan_big{time.monotonic_ns()}"
    summaries = client["threat_big"]["scan_activity"]
    costs, sizes = [], []
    for n in range(EVENTS):
        before = writes.count
        assert await activity.record(activity_event(progress(scan_id, n))) is Outcome.APPLIED
        costs.append(writes.count - before)
        if n % 1000 == 999:
            doc = await summaries.find_one({"_id": scan_id})
            assert doc is not None
            sizes.append(len(bson.encode(doc)))
    assert set(costs[1:]) == {costs[1]}  # the 10,000th event costs what the second did
    assert costs[1] <= 4
    assert costs[0] <= costs[1] + 1  # the first one also creates the summary
    assert max(sizes) < 1024  # bytes
    assert max(sizes) == min(sizes)  # not growing with the number of events
    again = await activity.record(activity_event(progress(scan_id, 5)))  # a redelivery
    assert again is Outcome.DUPLICATE
    doc = await activity.activity(OWNER.org_id, scan_id)
    assert doc.events_applied == EVENTS
    assert doc.event_types() == ["progress"]
    assert doc.last_status == "running"


async def test_an_event_whose_summary_update_was_lost_is_recounted_once(
    store: tuple[AsyncMongoClient[Document], Writes],
) -> None:
    """A crash after the event marker but before the summary: the redelivery repairs it."""
    client, _ = store
    db = client["threat_crash"]
    activity = ActivityService(MongoActivityRepository(db))
    scan_id = f"scan_crash{time.monotonic_ns()}"
    queued = activity_event(progress(scan_id, 1, scan_pb2.SCAN_EVENT_TYPE_QUEUED))
    assert await activity.record(queued) is Outcome.APPLIED
    lost = progress(scan_id, 2)
    await db["scan_activity_events"].insert_one(
        {"_id": lost.event_id, "scan_id": scan_id, "type": "progress", "sequence": lost.sequence,
         "status": "running", "applied": False}
    )  # fmt: skip
    assert await activity.record(activity_event(lost)) is Outcome.APPLIED
    assert await activity.record(activity_event(lost)) is Outcome.DUPLICATE
    doc = await activity.activity(OWNER.org_id, scan_id)
    assert (doc.events_applied, doc.event_types(), doc.last_status) == (
        2,
        ["queued", "progress"],
        "running",
    )


async def test_a_batch_of_events_counts_each_once_in_a_few_commands(
    store: tuple[AsyncMongoClient[Document], Writes],
) -> None:
    """A consumer's fetch at once: counts and first/last as event by event, a fixed number of store
    commands whatever the batch's size; redelivered, it changes nothing; a marker left unapplied by a
    crash is recounted once."""
    client, writes = store
    db = client["threat_batch"]
    activity = await service_on(db)
    scan_id = f"scan_batch{time.monotonic_ns()}"
    queued = activity_event(progress(scan_id, 0, scan_pb2.SCAN_EVENT_TYPE_QUEUED))
    batch = [queued, *(activity_event(progress(scan_id, n)) for n in range(1, 60))]
    batch += [activity_event(progress(scan_id, 60, scan_pb2.SCAN_EVENT_TYPE_PORT_FOUND))]
    before = writes.count
    assert await activity.record_many(batch) == [Outcome.APPLIED] * 61
    assert writes.count - before <= 6
    doc = await activity.activity(OWNER.org_id, scan_id)
    assert (doc.events_applied, doc.event_types(), doc.last_status) == (
        61,
        ["queued", "progress", "port_found"],
        "running",
    )
    assert doc.counts == {"queued": 1, "progress": 59, "port_found": 1}
    assert await activity.record_many(batch[:3]) == [Outcome.DUPLICATE] * 3

    lost = progress(scan_id, 61)
    await db["scan_activity_events"].insert_one(
        {"_id": lost.event_id, "scan_id": scan_id, "type": "progress", "sequence": lost.sequence,
         "status": "running", "applied": False}
    )  # fmt: skip
    later = activity_event(progress(scan_id, 62))
    assert await activity.record_many([activity_event(lost), later]) == [Outcome.APPLIED] * 2
    doc = await activity.activity(OWNER.org_id, scan_id)
    assert (doc.events_applied, doc.counts["progress"]) == (63, 61)
