"""Sharded scans on fakes: planning, merge exactly once, cancel and max_duration reach every shard,
per-shard leases and takeover, resume from the shards not done."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field

import pytest
from scan_fakes import SETTINGS, FakeClock, FakeEngine, Platform, platform

from rampart_scan.domain import (
    CANCELLED,
    COMPLETED,
    TIMEOUT,
    Block,
    ConcurrentLimitExceeded,
    Owner,
    PlanLimits,
    PortCounts,
    Scan,
    ScanNotResumable,
    ScanSpec,
    ShardPlan,
    plan_shards,
)
from rampart_scan.engine.scanner import Event, HostDone, HostReport, PortFinding, PortFound, Progress
from rampart_scan.engine.targets import Host, InvalidTarget
from rampart_scan.interfaces import EngineRun, Pacer, ShardLease
from rampart_scan.sharding import SHARD_PROGRESS_EVERY

LIVE = Owner("usr_a", "org_a")
SHARDED = SETTINGS.model_copy(update={"shard_hosts": 2, "shard_ports": 5})
HOSTS = [f"127.0.0.{n}" for n in range(1, 6)]  # 5 hosts x 10 ports: 3 host blocks x 2 port blocks
OPEN = {("127.0.0.1", 3), ("127.0.0.4", 7), ("127.0.0.5", 10)}


def script(block: Block) -> Sequence[Event]:
    """What the engine finds in a block: the OPEN ports inside it, one HostDone per host."""
    events: list[Event] = []
    ports = list(range(1, 11))[block.port_start : block.port_stop]
    for address in HOSTS[block.host_start : block.host_stop]:
        host = Host(ipaddress.ip_address(address))
        found = [PortFinding(p, "open", 0.1) for p in ports if (address, p) in OPEN]
        events += [PortFound(host, finding) for finding in found]
        counts = {"open": len(found), "closed": len(ports) - len(found), "filtered": 0}
        events.append(HostDone(HostReport(host, counts, found, [], None, 0.01)))
    return events


async def sharded(p: Platform, max_duration: int = 3600, limits: PlanLimits | None = None) -> Scan:
    spec = ScanSpec(targets=tuple(HOSTS), ports="1-10", max_duration_seconds=max_duration)
    return (await p.commands.create(LIVE, spec, limits or PlanLimits(concurrent=5))).scan


def test_shards_cover_every_host_and_port_exactly_once_in_bounded_blocks() -> None:
    plan = plan_shards(hosts=4096, ports=100, hosts_per_shard=256, ports_per_shard=65536)
    assert (plan.count, plan.host_blocks, plan.port_blocks) == (16, 16, 1)
    odd = plan_shards(hosts=7, ports=10, hosts_per_shard=3, ports_per_shard=4)
    assert odd.count == 9
    cells = [
        (h, p)
        for b in odd.blocks()
        for h in range(b.host_start, b.host_stop)
        for p in range(b.port_start, b.port_stop)
    ]
    assert sorted(cells) == [(h, p) for h in range(7) for p in range(10)]
    assert max(b.probes for b in odd.blocks()) <= 3 * 4  # memory per shard is bounded by the block
    assert not plan_shards(hosts=1, ports=1000, hosts_per_shard=256, ports_per_shard=65536).sharded
    with pytest.raises(ValueError, match=r"shard 10 is not in 1\.\.9"):
        odd.block(10)


async def test_a_large_scan_is_published_as_one_job_per_shard() -> None:
    p = platform(settings=SHARDED)
    scan = await sharded(p)
    assert scan.shards == ShardPlan(5, 10, 2, 5)
    assert p.events.jobs == [f"{scan.id}.job.s{i}" for i in range(1, 7)]
    assert p.events.kinds(scan.id) == ["queued"]  # no whole-scan job next to the shard jobs
    assert scan.id not in p.store.pending  # every batch is in the outbox: the scan says so


async def test_shards_on_two_workers_merge_once_and_the_scan_completes_once() -> None:
    p = platform(settings=SHARDED)
    scan = await sharded(p)
    engine = FakeEngine(per_block=script)
    w1, w2 = p.shards(engine, "w1"), p.shards(engine, "w2")
    for index in (1, 3, 5):
        assert await w1.execute(scan.id, index, "req")
    # the last shards finish on both workers at once: one of them ends the scan
    results = await asyncio.gather(*(w2.execute(scan.id, i, "req") for i in (2, 4, 6)))
    assert all(results)
    done = p.store.scans[scan.id]
    assert (done.status, done.shards_done, done.counts) == (COMPLETED, 6, PortCounts(3, 47, 0))
    assert p.events.kinds(scan.id).count("completed") == 1
    assert p.events.kinds(scan.id).count("running") == 1
    assert {(r.host, r.port) for r in await p.store.ports_of(scan.id)} == OPEN
    assert sorted(engine.blocks) == [1, 2, 3, 4, 5, 6]
    assert p.store.slots["org_a"] == 0  # released once
    # a redelivered shard after the end runs nothing and publishes nothing new
    assert await w1.execute(scan.id, 2, "req")
    assert sorted(engine.blocks) == [1, 2, 3, 4, 5, 6]
    assert p.events.kinds(scan.id).count("completed") == 1


async def test_a_crash_between_shard_done_and_merge_is_merged_by_the_redelivery() -> None:
    p = platform(settings=SHARDED)
    scan = await sharded(p)
    w1 = p.shards(FakeEngine(per_block=script))
    for index in range(1, 6):
        await w1.execute(scan.id, index, "req")
    lease = ShardLease("w9", "w9/x", p.clock.time() + 60)
    assert await p.store.claim_shard(scan.id, 6, lease, p.clock.time()) == 1
    assert await p.store.finish_shard(scan.id, 6, "w9/x", PortCounts(1, 9, 0))  # then w9 died
    assert p.store.scans[scan.id].status != COMPLETED
    assert await w1.execute(scan.id, 6, "req")  # the job comes back: merged, not rerun
    assert p.store.scans[scan.id].status == COMPLETED
    assert p.events.kinds(scan.id).count("completed") == 1


async def test_a_dead_workers_shard_is_taken_over_after_its_lease_and_the_old_claim_cannot_finish() -> None:
    p = platform(settings=SHARDED)
    scan = await sharded(p)
    old = ShardLease("w1", "w1/old", p.clock.time() + 60)
    assert await p.store.claim_shard(scan.id, 1, old, p.clock.time()) == 1
    engine = FakeEngine(per_block=script)
    w2 = p.shards(engine, "w2")
    assert not await w2.execute(scan.id, 1, "req")  # held: the job is left alone
    assert engine.blocks == []
    p.clock.advance(61)
    assert await w2.execute(scan.id, 1, "req")
    assert engine.blocks == [1]
    assert p.store.shards[(scan.id, 1)]["attempts"] == 2
    assert not await p.store.finish_shard(scan.id, 1, "w1/old", PortCounts(1, 0, 0))
    assert not await p.store.renew_shard(scan.id, 1, old)


async def test_cancel_reaches_every_shard_running_and_every_shard_still_queued() -> None:
    p = platform(settings=SHARDED)
    scan = await sharded(p)
    hanging = FakeEngine(hang=True)
    w1, w2 = p.shards(hanging, "w1"), p.shards(hanging, "w2")
    runs = [
        asyncio.create_task(w1.execute(scan.id, 1, "req")),
        asyncio.create_task(w2.execute(scan.id, 2, "req")),
    ]
    async with asyncio.timeout(2):
        while len(hanging.blocks) < 2:  # noqa: ASYNC110 - the runs are on this loop
            await asyncio.sleep(0)
    await p.store.request_cancel(scan.id)
    for worker in (w1, w2):  # the broadcast reaches every worker
        worker.cancel(scan.id)
    assert await asyncio.gather(*runs) == [True, True]
    ended = p.store.scans[scan.id]
    assert ended.status == CANCELLED
    assert p.events.kinds(scan.id).count("cancelled") == 1
    assert not p.store.shards[(scan.id, 1)]["done"]  # left for a resume
    assert p.store.slots["org_a"] == 0
    later = FakeEngine(per_block=script)
    assert await p.shards(later, "w3").execute(scan.id, 3, "req")  # a queued shard runs nothing
    assert later.blocks == []


async def test_a_shard_delivered_after_a_cancel_request_ends_the_scan_without_running() -> None:
    p = platform(settings=SHARDED)
    scan = await sharded(p)
    engine = FakeEngine(per_block=script)
    await p.shards(engine).execute(scan.id, 1, "req")
    await p.store.request_cancel(scan.id)
    assert await p.shards(engine).execute(scan.id, 2, "req")
    assert engine.blocks == [1]
    assert p.store.scans[scan.id].status == CANCELLED


async def test_max_duration_counts_from_the_scans_start_across_shards() -> None:
    p = platform(settings=SHARDED)
    scan = await sharded(p, max_duration=60)
    engine = FakeEngine(per_block=script)
    await p.shards(engine, "w1").execute(scan.id, 1, "req")
    p.clock.advance(61)
    assert await p.shards(engine, "w2").execute(scan.id, 2, "req")
    ended = p.store.scans[scan.id]
    assert ended.status == TIMEOUT
    assert ended.error is not None
    assert ended.error.code == "SCAN_TIMEOUT"
    assert engine.blocks == [1]  # shard 2 had no time left: not run
    assert p.events.kinds(scan.id).count("timeout") == 1


async def test_resume_runs_only_the_shards_not_done_and_keeps_what_was_found() -> None:
    p = platform(settings=SHARDED)
    scan = await sharded(p, limits=PlanLimits(concurrent=1))
    engine = FakeEngine(per_block=script)
    for index in (1, 2):
        await p.shards(engine).execute(scan.id, index, "req")
    await p.store.request_cancel(scan.id)
    await p.shards(engine).execute(scan.id, 3, "req")
    assert p.store.scans[scan.id].status == CANCELLED
    p.store.slots["org_a"] = 1  # another scan holds the plan's one slot
    with pytest.raises(ConcurrentLimitExceeded):
        await p.commands.resume(LIVE, scan.id, PlanLimits(concurrent=1), "req2")
    assert p.store.scans[scan.id].status == CANCELLED
    p.store.slots["org_a"] = 0
    p.events.jobs.clear()
    resumed = await p.commands.resume(LIVE, scan.id, PlanLimits(concurrent=1), "req2")
    assert (resumed.status, resumed.resumes, resumed.cancel_requested) == ("queued", 1, False)
    assert p.events.jobs == [f"{scan.id}.job.s{i}.r1" for i in (3, 4, 5, 6)]
    assert p.store.slots["org_a"] == 1  # the slot is taken again
    for index in (3, 4, 5, 6):
        await p.shards(engine).execute(scan.id, index, "req2")
    done = p.store.scans[scan.id]
    assert (done.status, done.counts) == (COMPLETED, PortCounts(3, 47, 0))
    assert sorted(engine.blocks) == [1, 2, 3, 4, 5, 6]  # nothing done twice
    assert {(r.host, r.port) for r in await p.store.ports_of(scan.id)} == OPEN
    assert p.store.slots["org_a"] == 0
    with pytest.raises(ScanNotResumable):
        await p.commands.resume(LIVE, scan.id, PlanLimits(concurrent=1), "req3")


async def test_a_shard_that_stops_after_a_resume_leaves_the_resumed_run_alone() -> None:
    """Two shards run when the owner cancels: one ends the scan as cancelled, the owner resumes it,
    and only then does the slower worker's stop arrive. It belongs to the previous run: the
    resumed scan must stay queued and then complete, with one cancelled event in all."""
    p = platform(settings=SHARDED)
    scan = await sharded(p)
    hanging = FakeEngine(per_block=script, hang=True)
    w1, w2 = p.shards(hanging, "w1"), p.shards(hanging, "w2")
    first = asyncio.create_task(w1.execute(scan.id, 1, "req"))
    second = asyncio.create_task(w2.execute(scan.id, 2, "req"))
    for _ in range(100):
        if sorted(hanging.blocks) == [1, 2]:
            break
        await asyncio.sleep(0)
    assert sorted(hanging.blocks) == [1, 2]
    await p.store.request_cancel(scan.id)
    w1.cancel(scan.id)
    assert await first
    assert p.store.scans[scan.id].status == CANCELLED
    resumed = await p.commands.resume(LIVE, scan.id, PlanLimits(concurrent=5), "req2")
    w2.cancel(scan.id)  # the slow worker's stop, after the resume
    assert await second
    assert p.store.scans[scan.id].status == resumed.status == "queued"
    engine = FakeEngine(per_block=script)
    for index in range(1, 7):
        assert await p.shards(engine).execute(scan.id, index, "req2")
    done = p.store.scans[scan.id]
    assert (done.status, done.counts) == (COMPLETED, PortCounts(3, 47, 0))
    assert p.events.kinds(scan.id).count("cancelled") == 1
    assert p.events.kinds(scan.id).count("completed") == 1


async def test_the_plans_host_cap_applies_and_a_16_needs_a_plan_that_allows_it() -> None:
    p = platform(settings=SETTINGS.model_copy(update={"shard_hosts": 256}))
    spec = ScanSpec(targets=("127.0.0.0/23",), ports="80")
    with pytest.raises(InvalidTarget, match="the limit is 256"):
        await p.commands.create(LIVE, spec, PlanLimits(concurrent=5))  # free: 256 hosts
    big = (
        await p.commands.create(
            LIVE, ScanSpec(targets=("127.0.0.0/16",), ports="80"), PlanLimits(5, 0, 65536)
        )
    ).scan
    assert (big.shards.hosts, big.shards.count) == (65534, 256)
    assert len(p.events.jobs) == 256


async def test_a_cancel_arriving_while_the_last_shard_ends_the_scan_does_not_cut_its_end_short() -> None:
    p = platform(settings=SHARDED)
    scan = await sharded(p)
    w1 = p.shards(FakeEngine(per_block=script))
    for index in range(1, 6):
        assert await w1.execute(scan.id, index, "req")
    p.store.gates["release_slot"] = gate = asyncio.Event()  # a slow store while the scan ends
    last = asyncio.create_task(w1.execute(scan.id, 6, "req"))
    async with asyncio.timeout(2):
        while "release_slot" not in p.store.waiting:  # noqa: ASYNC110 - the run is on this loop
            await asyncio.sleep(0)
    assert p.store.scans[scan.id].is_final
    w1.cancel(scan.id)  # the worker's watcher, seeing the scan final
    gate.set()
    assert await asyncio.wait_for(last, 2)
    assert p.events.kinds(scan.id).count("completed") == 1
    assert p.store.slots["org_a"] == 0


# ---- progress inside shards ------------------------------------------------------------------


@dataclass
class Ticking:
    """An engine whose shard reports its probes done ``steps`` times, ``tick`` seconds apart, then
    what ``script`` finds; ``stall_after`` steps, it stops moving (a worker about to die)."""

    clock: FakeClock
    tick: float = 1.0
    steps: int = 10
    stall_after: int | None = None
    blocks: list[int] = field(default_factory=list)

    async def start(self, scan: Scan, block: Block | None = None, pacer: Pacer | None = None) -> EngineRun:
        assert block is not None
        self.blocks.append(block.index)
        return EngineRun(self._run(block))

    async def _run(self, block: Block) -> AsyncIterator[Event]:
        host = Host(ipaddress.ip_address(HOSTS[block.host_start % len(HOSTS)]))
        for step in range(1, self.steps + 1):
            if self.stall_after is not None and step > self.stall_after:
                await asyncio.Event().wait()
            self.clock.advance(self.tick)
            done = block.probes * step // self.steps
            yield Progress(host, done, block.probes, done * 100 // block.probes)
        if block.host_stop <= len(HOSTS) and block.port_stop <= 10:
            for event in script(block):
                yield event


def percents(p: Platform) -> list[int]:
    return [percent for _, _, _, percent in p.events.percents]


async def until(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(2):
        while not condition():  # noqa: ASYNC110 - the runs are on this loop
            await asyncio.sleep(0)


async def test_progress_rises_inside_a_running_shard_and_get_shows_it() -> None:
    p = platform(settings=SHARDED)
    scan = await sharded(p)  # 50 probes; shard 1 is 2 hosts x 5 ports = 10 probes, 1 probe = 2 %
    engine = Ticking(p.clock, stall_after=5)
    run = asyncio.create_task(p.shards(engine).execute(scan.id, 1, "req"))
    await until(lambda: len(p.events.percents) == 5)
    seen = await p.queries.get(LIVE, scan.id)
    assert (seen.status, seen.shards_done, seen.progress) == ("running", 0, 10)  # no shard done yet
    assert p.events.percents[-1] == (f"{scan.id}.progress.p10.r0", 5, 50, 10)
    assert percents(p) == [2, 4, 6, 8, 10]
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run


async def test_progress_never_goes_back_when_a_dead_workers_shard_restarts_at_zero_elsewhere() -> None:
    p = platform(settings=SHARDED)
    scan = await sharded(p)
    dying = asyncio.create_task(p.shards(Ticking(p.clock, stall_after=6), "w1").execute(scan.id, 1, "req"))
    await until(lambda: percents(p)[-1:] == [12])  # 6 of shard 1's 10 probes, then w1 is killed
    dying.cancel()
    with pytest.raises(asyncio.CancelledError):
        await dying
    w2, w3 = p.shards(Ticking(p.clock), "w2"), p.shards(Ticking(p.clock), "w3")
    assert await w2.execute(scan.id, 2, "req")  # 10 more probes on another worker: 32 %
    assert p.store.scans[scan.id].progress == 32
    p.clock.advance(61)  # w1's lease ran out: shard 1 runs again from 0 on w3
    assert await w3.execute(scan.id, 1, "req")
    assert p.store.shards[(scan.id, 1)]["attempts"] == 2
    assert p.store.scans[scan.id].progress == 40
    # its rerun counted 20 % .. 40 % again: only what passed the stored 32 % went out
    assert percents(p) == [2, 4, 6, 8, 10, 12, *range(14, 34, 2), 34, 36, 38, 40]
    await asyncio.gather(*(w.execute(scan.id, i, "req") for w, i in ((w2, 3), (w3, 4), (w2, 5), (w3, 6))))
    assert percents(p) == sorted(set(percents(p)))  # rising, one event per value
    assert len({event_id for event_id, *_ in p.events.percents}) == len(p.events.percents)
    assert percents(p)[-1] == 99  # capped until the end
    done = p.store.scans[scan.id]
    assert (done.status, done.progress, done.counts) == (COMPLETED, 100, PortCounts(3, 47, 0))


async def test_progress_survives_a_resume_and_the_resumed_run_publishes_only_higher_values() -> None:
    p = platform(settings=SHARDED)
    scan = await sharded(p)
    for index in (1, 2):
        await p.shards(Ticking(p.clock)).execute(scan.id, index, "req")
    stalled = asyncio.create_task(p.shards(Ticking(p.clock, stall_after=3)).execute(scan.id, 3, "req"))
    await until(lambda: percents(p)[-1:] == [46])
    await p.store.request_cancel(scan.id)
    stalled.cancel()  # its worker goes away with the shard at 3 of 10 probes
    with pytest.raises(asyncio.CancelledError):
        await stalled
    await p.shards(Ticking(p.clock)).execute(scan.id, 4, "req")  # delivered after the cancel
    assert p.store.scans[scan.id].status == CANCELLED
    before = len(p.events.percents)
    resumed = await p.commands.resume(LIVE, scan.id, PlanLimits(concurrent=5), "req2")
    assert (resumed.status, (await p.queries.get(LIVE, scan.id)).progress) == ("queued", 46)
    p.clock.advance(61)
    for index in (3, 4, 5, 6):
        await p.shards(Ticking(p.clock)).execute(scan.id, index, "req2")
    after = p.events.percents[before:]
    assert after
    assert all(event_id.endswith(".r1") for event_id, *_ in after)
    assert min(percent for *_, percent in after) > 46
    assert percents(p) == sorted(set(percents(p)))
    assert p.store.scans[scan.id].status == COMPLETED


async def test_progress_writes_are_bounded_per_second_whatever_the_engine_reports() -> None:
    p = platform(settings=SETTINGS.model_copy(update={"shard_hosts": 1, "shard_ports": 500}))
    spec = ScanSpec(targets=("127.0.0.1", "127.0.0.2"), ports="1-1000")
    scan = (await p.commands.create(LIVE, spec, PlanLimits(concurrent=5))).scan
    assert (scan.shards.count, scan.shards.probes) == (4, 2000)
    # each shard: 500 progress reports 0.01 s apart (5 s), every one with more probes done
    engine = Ticking(p.clock, tick=0.01, steps=500)
    w1, w2 = p.shards(engine, "w1"), p.shards(engine, "w2")
    for index in (1, 2, 3, 4):
        assert await (w1 if index % 2 else w2).execute(scan.id, index, "req")
    # at most one store of a shard's probes per SHARD_PROGRESS_EVERY: 6 per 5 s shard, not 500
    assert SHARD_PROGRESS_EVERY == 1.0
    assert p.store.writes["record_shard_probes"] <= 4 * 6
    assert p.store.writes["raise_progress"] <= 4 * 6 + 4  # plus one recount per shard done
    assert len(p.events.percents) <= 99
    assert percents(p) == sorted(set(percents(p)))
    assert p.store.scans[scan.id].status == COMPLETED
