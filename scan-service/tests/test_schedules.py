"""Schedules and the scheduler on fakes, with the clock moved by hand."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from scan_fakes import Platform, platform
from schedule_fakes import FakeScheduleStore

from rampart.lib.errors import InvalidArgument
from rampart_scan.domain import COMPLETED, Owner, PlanLimits, ScanOptions
from rampart_scan.domain.schedule import ScheduleNotFound, Timing
from rampart_scan.schedules import ScheduleCommands, ScheduleInput, Scheduler, run_scan_id

LIVE = Owner("usr_a", "org_a")
EVERY_MINUTE = ScheduleInput(targets=("127.0.0.1",), ports="22,80", interval_seconds=60)


class Rig:
    def __init__(self) -> None:
        self.p: Platform = platform()
        self.store = FakeScheduleStore()
        self.commands = ScheduleCommands(self.store, self.p.clock)

    def scheduler(self, holder: str = "replica-1") -> Scheduler:
        return Scheduler(self.store, self.p.store, self.p.commands, self.p.clock, holder, lease_seconds=30)

    def scans(self) -> list[str]:
        return sorted(self.p.store.scans, key=lambda i: self.p.store.scans[i].created_at)

    def finish_all(self) -> None:
        for scan_id, scan in self.p.store.scans.items():
            self.p.store.scans[scan_id] = replace(scan, status=COMPLETED)


async def test_a_schedule_on_a_short_interval_fires_twice() -> None:
    rig = Rig()
    schedule = await rig.commands.create(LIVE, EVERY_MINUTE, PlanLimits())
    scheduler = rig.scheduler()
    assert await scheduler.tick() == 0  # not due yet
    rig.p.clock.advance(60)
    await scheduler.tick()
    assert len(rig.scans()) == 1
    rig.finish_all()
    rig.p.clock.advance(60)
    await scheduler.tick()
    _, second = rig.scans()
    stored = await rig.commands.get(LIVE, schedule.id)
    assert (stored.runs, stored.last_scan_id) == (2, second)
    assert rig.p.store.scans[second].spec.targets == ("127.0.0.1",)
    assert rig.p.store.scans[second].owner == LIVE
    assert stored.next_run_at == schedule.created_at + timedelta(seconds=180)


async def test_a_disabled_schedule_never_fires_and_fires_again_once_enabled() -> None:
    rig = Rig()
    schedule = await rig.commands.create(LIVE, replace(EVERY_MINUTE, enabled=False), PlanLimits())
    assert schedule.next_run_at is None
    scheduler = rig.scheduler()
    for _ in range(5):
        rig.p.clock.advance(60)
        await scheduler.tick()
    assert rig.scans() == []
    await rig.commands.update(
        LIVE, schedule.id, ScheduleInput(enabled=True), frozenset({"enabled"}), PlanLimits()
    )
    rig.p.clock.advance(60)
    await scheduler.tick()
    assert len(rig.scans()) == 1


async def test_a_missed_run_is_caught_up_once_after_the_scheduler_restarts() -> None:
    rig = Rig()
    schedule = await rig.commands.create(LIVE, EVERY_MINUTE, PlanLimits())
    rig.p.clock.advance(10 * 60 + 30)  # down for ten fire times
    restarted = rig.scheduler("replica-after-restart")
    await restarted.tick()
    await restarted.tick()
    assert len(rig.scans()) == 1
    stored = await rig.commands.get(LIVE, schedule.id)
    assert (stored.runs, stored.missed_runs) == (1, 9)
    assert stored.next_run_at == schedule.created_at + timedelta(seconds=11 * 60)


async def test_a_run_due_while_the_previous_scan_is_going_is_skipped() -> None:
    rig = Rig()
    schedule = await rig.commands.create(LIVE, EVERY_MINUTE, PlanLimits())
    scheduler = rig.scheduler()
    rig.p.clock.advance(60)
    await scheduler.tick()
    rig.p.clock.advance(60)
    await scheduler.tick()  # the first scan is still queued
    assert len(rig.scans()) == 1
    assert (await rig.commands.get(LIVE, schedule.id)).skipped_runs == 1
    rig.finish_all()
    rig.p.clock.advance(60)
    await scheduler.tick()
    assert len(rig.scans()) == 2


async def test_only_the_replica_holding_the_lease_starts_scans() -> None:
    rig = Rig()
    await rig.commands.create(LIVE, EVERY_MINUTE, PlanLimits())
    one, two = rig.scheduler("one"), rig.scheduler("two")
    rig.p.clock.advance(60)
    assert await one.tick() == 1
    rig.finish_all()
    rig.p.clock.advance(20)
    assert await two.tick() == 0  # one's lease is current
    rig.p.clock.advance(60)  # one stopped renewing: its lease lapsed
    assert await two.tick() == 1
    assert len(rig.scans()) == 2


async def test_a_refused_run_is_recorded_and_the_schedule_goes_on() -> None:
    rig = Rig()
    schedule = await rig.commands.create(
        LIVE, replace(EVERY_MINUTE, targets=("10.9.9.9",)), PlanLimits()
    )  # outside the organisation's scope
    rig.p.clock.advance(60)
    await rig.scheduler().tick()
    stored = await rig.commands.get(LIVE, schedule.id)
    assert rig.scans() == []
    assert stored.last_error.startswith("TARGET_NOT_ALLOWED")
    assert stored.next_run_at == schedule.created_at + timedelta(seconds=120)


async def test_schedules_belong_to_their_organisation_and_world() -> None:
    rig = Rig()
    schedule = await rig.commands.create(LIVE, EVERY_MINUTE, PlanLimits())
    for other in (Owner("usr_b", "org_b"), Owner("usr_a", "org_a", sandbox=True)):
        with pytest.raises(ScheduleNotFound):
            await rig.commands.get(other, schedule.id)
        with pytest.raises(ScheduleNotFound):
            await rig.commands.delete(other, schedule.id)
        assert (await rig.commands.list(other, 1, 20))[1] == 0
    await rig.commands.delete(LIVE, schedule.id)
    with pytest.raises(ScheduleNotFound):
        await rig.commands.get(LIVE, schedule.id)


@pytest.mark.parametrize(
    ("given", "field"),
    [
        (ScheduleInput(targets=("127.0.0.1",)), "cron"),  # neither cron nor interval
        (ScheduleInput(targets=("127.0.0.1",), cron="* * * * *", interval_seconds=60), "cron"),
        (ScheduleInput(targets=("127.0.0.1",), cron="61 * * * *"), "cron"),
        (ScheduleInput(targets=("127.0.0.1",), interval_seconds=5), "interval_seconds"),
        (ScheduleInput(targets=("127.0.0.1",), cron="0 3 * * *", time_zone="Mars/Olympus"), "time_zone"),
    ],
)
async def test_a_bad_timing_is_refused_naming_the_field(given: ScheduleInput, field: str) -> None:
    with pytest.raises(InvalidArgument) as refused:
        await Rig().commands.create(LIVE, given, PlanLimits())
    assert refused.value.details["field"] == field


def test_a_cron_expression_is_read_in_its_time_zone_across_a_clock_change() -> None:
    timing = Timing(cron="0 9 * * *", time_zone="Europe/Paris").check()
    before_dst = timing.next_after(datetime(2026, 3, 28, 12, tzinfo=UTC))
    after_dst = timing.next_after(before_dst)
    assert before_dst == datetime(2026, 3, 29, 7, tzinfo=UTC)  # 09:00 CEST (+2) on the day clocks change
    assert after_dst == datetime(2026, 3, 30, 7, tzinfo=UTC)
    assert Timing(cron="0 9 * * *", time_zone="UTC").next_after(before_dst) == datetime(
        2026, 3, 29, 9, tzinfo=UTC
    )


async def test_patching_the_timing_replans_the_next_run() -> None:
    rig = Rig()
    schedule = await rig.commands.create(LIVE, EVERY_MINUTE, PlanLimits())
    updated = await rig.commands.update(
        LIVE,
        schedule.id,
        ScheduleInput(cron="30 4 * * *", options=ScanOptions(service_detection=True)),
        frozenset({"cron", "options"}),
        PlanLimits(),
    )
    assert (updated.timing.cron, updated.timing.interval_seconds) == ("30 4 * * *", 0)
    assert updated.spec.options.service_detection
    assert updated.next_run_at is not None
    assert (updated.next_run_at.hour, updated.next_run_at.minute) == (4, 30)


# ---- the batch path: many runs at once, each exactly once whatever stops it -------------------
SANDBOX = Owner("usr_s", "org_s", sandbox=True)
EVERY_MINUTE_SANDBOX = ScheduleInput(targets=("127.0.0.1",), ports="top-100", interval_seconds=60)
NO_LIMITS = PlanLimits()


async def many(rig: Rig, count: int, limits: PlanLimits = NO_LIMITS, owner: Owner = SANDBOX) -> list[str]:
    return [(await rig.commands.create(owner, EVERY_MINUTE_SANDBOX, limits)).id for _ in range(count)]


async def test_many_due_runs_start_one_scan_each_with_the_scan_id_of_their_run() -> None:
    rig = Rig()
    ids = await many(rig, 7)
    scheduler = Scheduler(rig.store, rig.p.store, rig.p.commands, rig.p.clock, "one", batch=3)
    rig.p.clock.advance(60)
    due = {i: rig.store.schedules[i] for i in ids}
    assert await scheduler.tick() == 7  # three batches
    assert len(rig.scans()) == 7
    for schedule_id in ids:
        stored = await rig.commands.get(SANDBOX, schedule_id)
        assert stored.runs == 1
        assert stored.last_scan_id == run_scan_id(due[schedule_id])
    assert rig.p.store.slots["org_s"] == 7
    assert sorted(s.scan_id for s in rig.p.events.sent if s.kind == "job") == sorted(rig.scans())


async def test_a_batch_stopped_before_its_schedules_were_stored_starts_nothing_twice() -> None:
    rig = Rig()
    ids = await many(rig, 5)
    scheduler = rig.scheduler()
    rig.p.clock.advance(60)
    rig.store.fail_advance = True  # scans stored and queued, the schedules not moved: a crash
    with pytest.raises(ConnectionError):
        await scheduler.tick()
    assert len(rig.scans()) == 5
    rig.store.fail_advance = False
    rig.p.clock.advance(31)  # the crashed replica's lease lapses
    assert await rig.scheduler("after-restart").tick() == 5  # the same runs, due again
    assert len(rig.scans()) == 5
    assert rig.p.store.slots["org_s"] == 5  # a run found started is not counted again
    for schedule_id in ids:
        stored = await rig.commands.get(SANDBOX, schedule_id)
        assert (stored.runs, stored.skipped_runs) == (1, 0)  # its own scan, not "still running"
        assert stored.last_scan_id in rig.p.store.scans


async def test_a_batch_stopped_before_its_entries_were_moved_is_completed_once() -> None:
    rig = Rig()
    await many(rig, 4)
    rig.p.clock.advance(60)
    rig.p.store.fail_on.add("released_many")
    with pytest.raises(ConnectionError):
        await rig.scheduler().tick()
    rig.p.store.fail_on.clear()
    await rig.scheduler().tick()
    assert len(rig.scans()) == 4
    assert rig.p.store.slots["org_s"] == 4
    assert (await rig.commands.list(SANDBOX, 1, 20))[0][0].runs == 1


async def test_two_schedulers_running_the_same_batch_start_each_run_once() -> None:
    rig = Rig()
    await many(rig, 6)
    rig.p.clock.advance(60)
    due = await rig.store.due(rig.p.clock.now(), 100)
    one, two = rig.scheduler("one"), rig.scheduler("two")  # a lease lost half-way: both at it
    assert await one.run_batch(due, rig.p.clock.now()) == 6
    assert await two.run_batch(due, rig.p.clock.now()) == 0  # outcomes already stored
    assert len(rig.scans()) == 6
    assert rig.p.store.slots["org_s"] == 6


async def test_a_batch_keeps_to_the_daily_quota_and_the_concurrency_limit_of_each_plan() -> None:
    rig = Rig()
    daily = await many(rig, 5, PlanLimits(daily=3))
    concurrent = await many(rig, 4, PlanLimits(concurrent=2), Owner("usr_c", "org_c", sandbox=True))
    rig.p.clock.advance(60)
    await rig.scheduler().tick()
    started = [await rig.commands.get(SANDBOX, i) for i in daily]
    assert sum(s.runs for s in started) == 3
    assert sorted(s.last_error.split(":")[0] for s in started if s.last_error) == ["SCAN_QUOTA_EXCEEDED"] * 2
    limited = [await rig.commands.get(Owner("usr_c", "org_c", sandbox=True), i) for i in concurrent]
    assert sum(s.runs for s in limited) == 2
    assert (
        sorted(s.last_error.split(":")[0] for s in limited if s.last_error)
        == ["CONCURRENT_LIMIT_EXCEEDED"] * 2
    )
    assert len(rig.scans()) == 5
