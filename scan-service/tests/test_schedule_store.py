"""The schedule repository on the real store (nx-27017): round trip, scoping, due runs, the
compare-and-set that claims a run, and the scheduler's lease."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from pymongo import AsyncMongoClient

from rampart.lib.store import Document
from rampart_scan.domain import Owner, PlanLimits, ScanOptions, ScanSpec
from rampart_scan.domain.schedule import Schedule, Timing
from rampart_scan.schedule_repository import ScheduleRepository
from tests.servers import Running, started

pytestmark = pytest.mark.service

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def store_server() -> Iterator[Running]:
    with started("nx-27017") as server:
        yield server


@pytest.fixture
async def repository(store_server: Running) -> AsyncIterator[ScheduleRepository]:
    client: AsyncMongoClient[Document] = AsyncMongoClient(
        f"mongodb://127.0.0.1:{store_server.port}/?directConnection=true", tz_aware=True
    )
    repository = ScheduleRepository(client[f"scan_sched_{time.monotonic_ns()}"])
    await repository.create_indexes()
    yield repository
    await client.close()


def schedule(schedule_id: str, org: str = "org_a", enabled: bool = True) -> Schedule:
    return Schedule(
        id=schedule_id,
        owner=Owner("usr_a", org),
        spec=ScanSpec(("127.0.0.1",), "tcp", "22,80", ScanOptions(service_detection=True), "standard"),
        timing=Timing(cron="*/5 * * * *", time_zone="Europe/Paris", anchor=NOW),
        limits=PlanLimits(2, 50, 256, 100.0),
        created_at=NOW,
        updated_at=NOW,
        name="nightly",
        enabled=enabled,
    ).planned(NOW)


async def test_a_schedule_round_trips_and_is_scoped(repository: ScheduleRepository) -> None:
    mine, theirs = schedule("sched_1"), schedule("sched_2", org="org_b")
    await repository.add(mine)
    await repository.add(theirs)
    assert await repository.get("org_a", "sched_1", sandbox=False) == mine
    assert await repository.get("org_a", "sched_2", sandbox=False) is None
    assert await repository.get("org_a", "sched_1", sandbox=True) is None
    assert (await repository.page("org_a", False, 0, 10)) == ([mine], 1)
    assert not await repository.delete("org_b", "sched_1", sandbox=False)
    assert await repository.delete("org_a", "sched_1", sandbox=False)


async def test_due_runs_are_claimed_once_and_disabled_ones_never_due(repository: ScheduleRepository) -> None:
    due, off = schedule("sched_due"), schedule("sched_off", enabled=False)
    await repository.add(due)
    await repository.add(off)
    later = NOW + timedelta(minutes=6)
    assert [s.id for s in await repository.due(later, 10)] == ["sched_due"]
    ran = due.ran(later, "scan_1")
    assert await repository.advance(due, ran)
    assert not await repository.advance(due, ran)  # a second claim of the same run loses
    assert await repository.due(later, 10) == []
    stored = await repository.get("org_a", "sched_due", sandbox=False)
    assert stored is not None
    assert (stored.runs, stored.last_scan_id, stored.next_run_at) == (1, "scan_1", ran.next_run_at)


async def test_the_lease_has_one_holder_until_it_lapses(repository: ScheduleRepository) -> None:
    assert await repository.take_lease("scheduler", "one", now=100.0, until=130.0)
    assert await repository.take_lease("scheduler", "one", now=110.0, until=140.0)  # renewed
    assert not await repository.take_lease("scheduler", "two", now=120.0, until=150.0)
    assert await repository.take_lease("scheduler", "two", now=141.0, until=171.0)
    assert not await repository.take_lease("scheduler", "one", now=150.0, until=180.0)


async def test_a_batch_of_outcomes_is_stored_in_one_write_each_guarded_by_its_run(
    repository: ScheduleRepository,
) -> None:
    first, second = schedule("sched_b1"), schedule("sched_b2")
    await repository.add(first)
    await repository.add(second)
    later = NOW + timedelta(minutes=6)
    moved = second.ran(later, "scan_elsewhere")
    assert await repository.advance(second, moved)  # another scheduler stored this run first
    changes = [(first, first.ran(later, "scan_b1")), (second, second.ran(later, "scan_b2"))]
    assert await repository.advance_many(changes) == 1
    assert await repository.advance_many(changes) == 0  # the same batch again changes nothing
    one = await repository.get("org_a", "sched_b1", sandbox=False)
    two = await repository.get("org_a", "sched_b2", sandbox=False)
    assert one is not None
    assert two is not None
    assert (one.runs, one.last_scan_id) == (1, "scan_b1")
    assert (two.runs, two.last_scan_id) == (1, "scan_elsewhere")
