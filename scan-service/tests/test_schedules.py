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
from rampart_scan.schedules import ScheduleCommands, ScheduleInput, Scheduler

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
