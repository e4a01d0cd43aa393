"""A worker running a scan: claim, events, finish once; leases, timeouts, cancels (in-memory fakes)."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

from scan_fakes import FakeEngine, Platform, platform

from rampart_scan.domain import (
    CANCELLED,
    COMPLETED,
    FAILED,
    RUNNING,
    TIMEOUT,
    Owner,
    PlanLimits,
    PortCounts,
    Scan,
    ScanSpec,
)
from rampart_scan.durable import Leases
from rampart_scan.engine.scanner import HostDone, HostReport, PortFinding, PortFound, Progress, ServiceFound
from rampart_scan.engine.services import ServiceInfo
from rampart_scan.engine.targets import Host
from rampart_scan.execution import ScanExecution
from rampart_scan.scope import TargetNotAllowed
from rampart_scan.watchdog import STUCK_AFTER

LIVE = Owner("usr_a", "org_a")
HOST = Host(ipaddress.ip_address("127.0.0.1"), "db.local.test")
SSH = PortFinding(22, "open", 0.4)
SSH_SERVICE = PortFinding(22, "open", 0.4, service=ServiceInfo("ssh", "OpenSSH", "9.2p1", confidence=95))
SCRIPT = (
    Progress(HOST, 5, 10, 50),
    PortFound(HOST, SSH),
    ServiceFound(HOST, SSH_SERVICE),
    HostDone(HostReport(HOST, {"open": 1, "closed": 9, "filtered": 0}, [SSH_SERVICE], [], None, 0.2)),
)


async def queued(p: Platform, max_duration: int = 3600) -> Scan:
    spec = ScanSpec(targets=("127.0.0.1",), ports="1-10", max_duration_seconds=max_duration)
    return (await p.commands.create(LIVE, spec, PlanLimits(concurrent=5))).scan


async def wait_until(condition: Callable[[], object], seconds: float = 2.0) -> None:
    """Poll with a deadline (the task under test runs on the same loop)."""
    async with asyncio.timeout(seconds):
        while True:
            if condition():
                return
            await asyncio.sleep(0.001)


async def test_a_job_runs_its_scan_once_and_stores_what_it_found() -> None:
    p = platform()
    scan = await queued(p)
    assert await p.execution(FakeEngine(SCRIPT)).execute(scan.id, "req")
    done = p.store.scans[scan.id]
    assert (done.status, done.progress, done.attempts, done.counts) == (
        COMPLETED,
        100,
        1,
        PortCounts(1, 9, 0),
    )
    assert p.events.kinds(scan.id)[2:] == [
        "running",
        "progress",
        "port_found",
        "service_detected",
        "completed",
    ]
    port = (await p.store.ports_of(scan.id))[0]
    assert (port.port, port.name, port.service and port.service.product) == (22, "db.local.test", "OpenSSH")
    assert port.found_at == p.clock.now()  # the first sighting is kept through the host summary
    assert (await p.store.hosts_of(scan.id))[0].counts.total == 10
    assert p.store.slots["org_a"] == 0


async def test_a_redelivered_job_of_a_finished_scan_runs_nothing_and_finishes_nothing() -> None:
    p = platform()
    scan = await queued(p)
    engine = FakeEngine(SCRIPT)
    assert await p.execution(engine).execute(scan.id, "req")
    assert await p.execution(engine, worker="w2").execute(scan.id, "req")  # acked, not run
    assert engine.started == [scan.id]
    assert p.events.kinds(scan.id).count("completed") == 1
    assert p.store.slots["org_a"] == 0  # released once


async def test_a_scan_leased_to_another_worker_is_not_run_here() -> None:
    p = platform()
    scan = await queued(p)
    held = await Leases(p.store, "w1", 60, 120, p.clock).claim(scan)
    assert held is not None
    engine = FakeEngine(SCRIPT)
    assert not await p.execution(engine, worker="w2").execute(scan.id, "req")
    assert engine.started == []
    assert (p.store.scans[scan.id].lease.worker, p.store.scans[scan.id].status) == ("w1", RUNNING)


async def test_an_expired_lease_is_taken_over_and_the_old_holder_cannot_finish() -> None:
    p = platform()
    scan = await queued(p)
    old = Leases(p.store, "w1", 60, 120, p.clock)
    held = await old.claim(scan)
    assert held is not None
    p.clock.advance(61)  # w1 died; its lease ran out
    assert await p.execution(FakeEngine(SCRIPT), worker="w2").execute(scan.id, "req")
    taken = p.store.scans[scan.id]
    assert (taken.status, taken.attempts, taken.lease.worker) == (COMPLETED, 2, "w2")
    assert await old.finish(held.finish(FAILED, p.clock.now(), PortCounts())) is None
    assert not await old.renew(held)
    assert p.store.scans[scan.id].status == COMPLETED


async def test_max_duration_stops_the_scan_as_timed_out_and_keeps_partial_results() -> None:
    p = platform()
    scan = await queued(p, max_duration=60)
    almost = p.clock.now() - timedelta(seconds=59.95)  # an earlier attempt started it
    p.store.scans[scan.id] = replace(scan, started_at=almost)
    engine = FakeEngine((PortFound(HOST, SSH),), hang=True)
    assert await p.execution(engine).execute(scan.id, "req")
    done = p.store.scans[scan.id]
    assert (done.status, done.error and done.error.code) == (TIMEOUT, "SCAN_TIMEOUT")
    assert [r.port for r in await p.store.ports_of(scan.id)] == [22]
    assert p.events.sent[-1].kind == TIMEOUT


async def test_a_scan_past_its_max_duration_times_out_without_running() -> None:
    p = platform()
    scan = await queued(p, max_duration=60)
    p.store.scans[scan.id] = replace(scan, started_at=p.clock.now() - timedelta(minutes=5))
    engine = FakeEngine(SCRIPT)
    assert await p.execution(engine).execute(scan.id, "req")
    assert (engine.started, p.store.scans[scan.id].status) == ([], TIMEOUT)


async def test_a_scan_cancelled_before_its_job_arrives_finishes_cancelled_without_running() -> None:
    p = platform()
    scan = await queued(p)
    p.store.scans[scan.id] = replace(scan, status=RUNNING, cancel_requested=True)
    engine = FakeEngine(SCRIPT)
    assert await p.execution(engine).execute(scan.id, "req")
    done = p.store.scans[scan.id]
    assert (engine.started, done.status, done.error and done.error.code) == ([], CANCELLED, "SCAN_CANCELLED")
    assert p.store.slots["org_a"] == 0


async def test_a_running_scan_cancelled_by_its_owner_stops_and_keeps_partial_results() -> None:
    p = platform()
    scan = await queued(p)
    execution = p.execution(FakeEngine((PortFound(HOST, SSH),), hang=True))
    job = asyncio.create_task(execution.execute(scan.id, "req"))
    await wait_until(lambda: p.store.ports)
    assert execution.running == [scan.id]
    execution.cancel(scan.id)
    assert await asyncio.wait_for(job, 2)
    done = p.store.scans[scan.id]
    assert (done.status, done.error and done.error.code) == (CANCELLED, "SCAN_CANCELLED")
    assert [r.port for r in await p.store.ports_of(scan.id)] == [22]
    assert execution.running == []


async def test_a_target_that_left_the_scope_fails_the_scan_with_the_refusal() -> None:
    p = platform()
    scan = await queued(p)
    refusal = TargetNotAllowed("127.0.0.1 is outside the authorised scope", field="target")
    assert await p.execution(FakeEngine(refuse=refusal)).execute(scan.id, "req")
    done = p.store.scans[scan.id]
    assert (done.status, done.error and done.error.code) == (FAILED, "TARGET_NOT_ALLOWED")


async def test_giving_up_fails_an_active_scan_once() -> None:
    p = platform()
    scan = await queued(p)
    execution = p.execution(FakeEngine())
    await execution.give_up(scan.id, "req")
    await execution.give_up(scan.id, "req")
    done = p.store.scans[scan.id]
    assert (done.status, done.error and done.error.code) == (FAILED, "INTERNAL_ERROR")
    assert p.events.kinds(scan.id).count(FAILED) == 1


async def test_the_endpoints_a_worker_leaves_out_are_stored_with_the_scan() -> None:
    p = platform()
    scan = await queued(p)
    assert await p.execution(FakeEngine(SCRIPT, excluded=["127.0.0.1:9100"])).execute(scan.id, "req")
    assert p.store.scans[scan.id].excluded_endpoints == ("127.0.0.1:9100",)


async def test_a_running_scan_is_kept_alive_by_renewing_its_lease() -> None:
    p = platform()
    scan = await queued(p)
    execution = p.execution(FakeEngine(hang=True), lease_seconds=60)
    job = asyncio.create_task(execution.execute(scan.id, "req"))
    await wait_until(lambda: execution.running)
    before = p.store.scans[scan.id].lease.until
    p.clock.advance(30)
    assert execution.holds(scan.id)
    await execution.renew(scan.id)
    assert p.store.scans[scan.id].lease.until == before + 30
    job.cancel()  # a shutdown: the job goes back to the queue, the scan stays active
    await asyncio.gather(job, return_exceptions=True)
    assert (p.store.scans[scan.id].status, execution.holds(scan.id)) == (RUNNING, False)


# ---- a scan's end under a broker reconnect: cancels, stuck engines, lost final events -------------


async def test_a_cancel_arriving_while_the_scan_finishes_does_not_lose_its_final_event() -> None:
    # The worker's cancellation watcher sees the scan final in the store as soon as the finish
    # stored it; its cancel must not cut the finish short before the final event is stored.
    p = platform()
    scan = await queued(p)
    p.store.gates["release_slot"] = gate = asyncio.Event()  # a slow store (e.g. a reconnect's burst)
    execution = p.execution(FakeEngine(SCRIPT))
    job = asyncio.create_task(execution.execute(scan.id, "req"))
    await wait_until(lambda: "release_slot" in p.store.waiting)
    assert p.store.scans[scan.id].is_final
    execution.cancel(scan.id)  # what the watcher does for a scan it sees final
    gate.set()
    assert await asyncio.wait_for(job, 2)
    assert p.events.kinds(scan.id)[-1] == "completed"
    assert (p.store.scans[scan.id].status, p.store.slots["org_a"]) == (COMPLETED, 0)


async def test_a_finished_scan_whose_final_event_was_cut_off_gets_it_on_redelivery() -> None:
    p = platform()
    scan = await queued(p)
    p.store.gates["release_slot"] = gate = asyncio.Event()
    job = asyncio.create_task(p.execution(FakeEngine(SCRIPT)).execute(scan.id, "req"))
    await wait_until(lambda: "release_slot" in p.store.waiting)
    job.cancel()  # a shutdown between the final state and its event: the job is handed back
    await asyncio.gather(job, return_exceptions=True)
    assert "completed" not in p.events.kinds(scan.id)
    gate.set()
    engine = FakeEngine(SCRIPT)
    assert await p.execution(engine, worker="w2").execute(scan.id, "req")  # the redelivery
    assert await p.execution(engine, worker="w2").execute(scan.id, "req")  # and one more
    assert engine.started == []  # nothing scanned again
    assert p.events.kinds(scan.id).count("completed") == 1


def stubborn_execution(p: Platform, engine: FakeEngine) -> ScanExecution:
    leases = Leases(p.store, "w1", 60, 120, p.clock)
    return ScanExecution(p.store, p.events, engine, leases, p.clock, stop_grace=0.05)


async def test_max_duration_ends_a_scan_whose_engine_never_stops() -> None:
    p = platform()
    scan = await queued(p, max_duration=60)
    p.store.scans[scan.id] = replace(scan, started_at=p.clock.now() - timedelta(seconds=59.95))
    release = asyncio.Event()
    engine = FakeEngine((PortFound(HOST, SSH),), stubborn=release)  # swallows every cancellation
    try:
        assert await asyncio.wait_for(stubborn_execution(p, engine).execute(scan.id, "req"), 5)
    finally:
        release.set()
    done = p.store.scans[scan.id]
    assert (done.status, done.error and done.error.code) == (TIMEOUT, "SCAN_TIMEOUT")
    assert [r.port for r in await p.store.ports_of(scan.id)] == [22]
    assert p.events.kinds(scan.id)[-1] == TIMEOUT


async def test_a_cancel_ends_a_scan_whose_engine_never_stops() -> None:
    p = platform()
    scan = await queued(p)
    release = asyncio.Event()
    execution = stubborn_execution(p, FakeEngine((PortFound(HOST, SSH),), stubborn=release))
    job = asyncio.create_task(execution.execute(scan.id, "req"))
    try:
        await wait_until(lambda: p.store.ports)
        execution.cancel(scan.id)
        assert await asyncio.wait_for(job, 5)
    finally:
        release.set()
    assert p.store.scans[scan.id].status == CANCELLED
    assert p.events.kinds(scan.id)[-1] == CANCELLED


async def test_a_run_stuck_past_its_deadline_is_no_longer_kept_alive() -> None:
    # Its delivery then runs out of ack_wait and the broker gives the job to a worker again.
    p = platform()
    scan = await queued(p, max_duration=60)
    p.store.scans[scan.id] = replace(scan, started_at=p.clock.now() - timedelta(seconds=59.95))
    p.store.gates["release_slot"] = gate = asyncio.Event()  # the finish cannot complete
    execution = p.execution(FakeEngine(hang=True))
    job = asyncio.create_task(execution.execute(scan.id, "req"))
    await wait_until(lambda: "release_slot" in p.store.waiting)
    assert execution.holds(scan.id)
    p.clock.advance(STUCK_AFTER + 1)
    assert not execution.holds(scan.id)
    gate.set()
    assert await asyncio.wait_for(job, 2)
    assert p.events.kinds(scan.id)[-1] == TIMEOUT
