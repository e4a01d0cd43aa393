"""Sharded scans on fakes: planning, merge exactly once, cancel and max_duration reach every shard,
per-shard leases and takeover, resume from the shards not done."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Sequence

import pytest
from scan_fakes import SETTINGS, FakeEngine, Platform, platform

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
from rampart_scan.engine.scanner import Event, HostDone, HostReport, PortFinding, PortFound
from rampart_scan.engine.targets import Host, InvalidTarget
from rampart_scan.interfaces import ShardLease

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
