"""The timeline repository on the real store (nx-27017): one document per event id."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import pytest
from pymongo import AsyncMongoClient

from rampart.lib.store import Document
from rampart_report.domain import TimelineEntry
from rampart_report.repository import MongoTimelineRepository
from tests.servers import Running, started

pytestmark = pytest.mark.service  # real servers or a real store: the middle tier

AT = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)


@pytest.fixture(scope="module")
def store_server() -> Iterator[Running]:
    with started("nx-27017") as server:
        yield server


@pytest.fixture
async def repository(store_server: Running) -> AsyncIterator[MongoTimelineRepository]:
    client: AsyncMongoClient[Document] = AsyncMongoClient(
        f"mongodb://127.0.0.1:{store_server.port}/?directConnection=true", tz_aware=True
    )
    repository = MongoTimelineRepository(client[f"report_{time.monotonic_ns()}"])
    await repository.create_indexes()
    yield repository
    await client.close()


async def test_entries_round_trip_by_sequence_and_an_event_id_is_stored_once(
    repository: MongoTimelineRepository,
) -> None:
    late = TimelineEntry("scan_1.completed.9", "scan_1", "org_a", "usr_a", "completed", 9, AT)
    early = TimelineEntry("scan_1.queued.1", "scan_1", "org_a", "usr_a", "queued", 1, None)
    other = TimelineEntry("scan_1.queued.x", "scan_1", "org_b", "usr_b", "queued", 1, AT)
    assert [await repository.add(e) for e in (late, early, other, late)] == [True, True, True, False]
    assert await repository.entries("org_a", "scan_1") == [early, late]
    assert await repository.entries("org_a", "scan_2") == []
