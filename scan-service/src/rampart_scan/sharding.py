"""Running one shard of a sharded scan; the scan ends exactly once, when its last shard is done.

Every shard is a job on the work queue and has its own lease (``scan_shards``, one document
per shard claimed), so any number of workers run shards of one scan, and a dead worker's shard
is taken over once its lease expired (its results are upserts and its event ids deterministic,
so a rerun duplicates nothing). When a shard is done its worker recounts the done shards and
raises the scan's ``shards_done`` with a compare-and-set; whoever sees every shard done ends the
scan with a compare-and-set on its status, so two workers finishing together publish one
``completed``. Cancel and ``max_duration`` (from the scan's start, across shards) end the scan
the same way from whichever shard meets them; its unfinished shards stay not done, for a resume.

Progress moves inside shards, not only when one ends: a running shard stores the probes it has
done on its shard document (``probes_done``, at most once per ``SHARD_PROGRESS_EVERY`` seconds
per shard, only while its claim holds it), then the scan's progress is recounted as (probes of
the done shards + probes done inside the shards not done) / the plan's probes, capped at 99
until the scan completes, and raised with a compare-and-set that only lets it grow. Whoever
raises it publishes one progress event, id ``<scan>.progress.p<percent>.r<resumes>``: the stored
value only grows over the scan's life (a resume keeps it), so each percentage is published at
most once and a rerun shard starting again at 0 publishes nothing until it passes what was
stored. At most 99 progress events per scan, and per running shard at most one shard write, one
read of the shard documents and one conditional scan write per second.
As for a whole scan (``execution``), the engine runs under a watchdog that a cancel or the
deadline ends even when it is stuck, and a cancel never reaches the merge or the scan's end.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import structlog

from rampart.lib.errors import RampartError
from rampart_scan.domain import (
    CANCELLED,
    CANCELLED_BY_CALLER,
    COMPLETED,
    COULD_NOT_RUN,
    FAILED,
    TIMEOUT,
    IllegalTransition,
    PortCounts,
    Scan,
    ScanError,
    timed_out,
)
from rampart_scan.engine.scanner import HostDone, PortFound, Progress, ServiceFound
from rampart_scan.findings import host_result, port_result
from rampart_scan.interfaces import Clock, Engine, Pacer, ScanEventSink, ScanStore, ShardLease, SystemClock
from rampart_scan.watchdog import STOP_GRACE, STUCK_AFTER, Ending, EnginePhase

log = structlog.get_logger(__name__)
SHARD_PROGRESS_EVERY = 1.0  # seconds between two stores of one running shard's probes done


@dataclass
class ShardRun:
    """One shard being run here."""

    scan: Scan
    index: int
    lease: ShardLease
    request_id: str
    counts: PortCounts = field(default_factory=PortCounts)
    phase: EnginePhase | None = None  # the engine running under its watchdog
    deadline: datetime | None = None
    cancelled_by_user: bool = False
    probes: int = 0  # done inside the block, as the engine last said
    stored_probes: int = 0
    stored_at: float = float("-inf")  # the first progress is stored at once


class ShardExecution:
    """The worker's use case for a shard job: claim the shard, run it, merge it into the scan once."""

    def __init__(
        self,
        store: ScanStore,
        events: ScanEventSink,
        engine: Engine,
        worker_id: str,
        lease_seconds: float,
        requeue_after: float,
        pacer_for: Callable[[Scan], Pacer | None] | None = None,
        clock: Clock | None = None,
        stop_grace: float = STOP_GRACE,
    ) -> None:
        self._stop_grace = stop_grace
        self._store = store
        self._events = events
        self._engine = engine
        self._worker = worker_id
        self._lease = lease_seconds
        self._requeue_after = requeue_after
        self._pacer_for = pacer_for
        self._clock = clock or SystemClock()
        self._runs: dict[tuple[str, int], ShardRun] = {}

    @property
    def running(self) -> list[str]:
        return sorted({scan_id for (scan_id, _), run in self._runs.items() if run.phase is not None})

    def holds(self, scan_id: str, index: int) -> bool:
        """Held here and not stuck past its deadline (``execution.ScanExecution.holds``)."""
        run = self._runs.get((scan_id, index))
        if run is None:
            return False
        return run.deadline is None or self._clock.now() <= run.deadline + timedelta(seconds=STUCK_AFTER)

    def cancel(self, scan_id: str) -> None:
        """The owner cancelled the scan: stop every shard of it running here."""
        for (held, _), run in self._runs.items():
            if held == scan_id and run.phase is not None and run.phase.active and not run.cancelled_by_user:
                run.cancelled_by_user = True
                run.phase.stop()

    async def renew(self, scan_id: str, index: int) -> None:
        run = self._runs.get((scan_id, index))
        if run is None:
            return
        now = self._clock.time()
        run.lease = ShardLease(run.lease.worker, run.lease.claim, now + self._lease)
        if not await self._store.renew_shard(scan_id, index, run.lease):
            log.warning("shard lease lost", scan_id=scan_id, shard=index)
        await self._store.touch(scan_id, now + self._lease + self._requeue_after)

    async def execute(self, scan_id: str, index: int, request_id: str) -> bool:
        """Run shard ``index``; False when another worker's live lease holds it (leave the job)."""
        scan = await self._store.by_id(scan_id)
        if scan is None:
            return True
        if scan.is_final:
            await self._replay_final(scan, request_id)
            return True
        if scan.cancel_requested:
            await self._end(scan, CANCELLED, request_id, CANCELLED_BY_CALLER)
            return True
        if await self._store.shard_done(scan_id, index):
            await self._merge(scan, request_id)  # a crash may have come between done and merge
            return True
        now = self._clock.time()
        token = f"{self._worker}/{uuid.uuid4().hex[:12]}"
        lease = ShardLease(self._worker, token, now + self._lease)
        attempt = await self._store.claim_shard(scan_id, index, lease, now)
        if attempt is None:
            return await self._store.shard_done(scan_id, index)
        stale_at = lease.until + self._requeue_after
        started = await self._store.start_sharded(scan_id, self._clock.now(), stale_at)
        if started is not None:
            await self._events.lifecycle(started, request_id)  # queued -> running, once
            scan = started
        else:
            await self._store.touch(scan_id, stale_at)
            scan = await self._store.by_id(scan_id) or scan
        run = ShardRun(scan, index, lease, request_id)
        self._runs[(scan_id, index)] = run
        try:
            await self._run(run)
        finally:
            if self._runs.get((scan_id, index)) is run:
                del self._runs[(scan_id, index)]
        return True

    async def give_up(self, scan_id: str, request_id: str) -> None:
        """A shard's deliveries ran out: the scan fails rather than staying active for ever."""
        scan = await self._store.by_id(scan_id)
        if scan is not None and not scan.is_final:
            await self._end(scan, FAILED, request_id, COULD_NOT_RUN)

    async def _run(self, run: ShardRun) -> None:
        scan = run.scan
        max_duration = scan.spec.max_duration_seconds
        run.deadline = (scan.started_at or self._clock.now()) + timedelta(seconds=max_duration)
        remaining = (run.deadline - self._clock.now()).total_seconds()
        ending = Ending.DEADLINE
        if remaining > 0:
            run.phase = EnginePhase(self._scan(run), self._stop_grace)
            try:
                ending = await run.phase.wait(remaining)
            except TimeoutError:  # raised inside the engine: as before, the scan timed out
                ending = Ending.DEADLINE
            except RampartError as refused:
                await self._stop(run, FAILED, ScanError(refused.public_code, refused.message))
                return
        if ending is Ending.STOPPED:
            await self._stop(run, CANCELLED, CANCELLED_BY_CALLER)
        elif ending is Ending.DEADLINE:
            await self._stop(run, TIMEOUT, timed_out(max_duration))
        else:
            if await self._store.finish_shard(scan.id, run.index, run.lease.claim, run.counts):
                log.info("shard done", scan_id=scan.id, shard=run.index, of=scan.shards.count)
            await self._merge(scan, run.request_id)

    async def _scan(self, run: ShardRun) -> None:
        """The engine phase of the shard: what a cancel or the deadline stops."""
        scan = run.scan
        pacer = self._pacer_for(scan) if self._pacer_for is not None else None
        engine = await self._engine.start(scan, scan.shards.block(run.index), pacer)
        async for event in engine.events:
            await self._apply(run, event)

    async def _apply(self, run: ShardRun, event: object) -> None:
        scan = run.scan
        if isinstance(event, Progress):
            run.probes = min(event.ports_done, scan.shards.block(run.index).probes)
            now = self._clock.monotonic()
            if run.probes > run.stored_probes and now - run.stored_at >= SHARD_PROGRESS_EVERY:
                run.stored_at, run.stored_probes = now, run.probes
                if await self._store.record_shard_probes(scan.id, run.index, run.lease.claim, run.probes):
                    await self._raise_progress(scan, run.request_id)
        elif isinstance(event, PortFound | ServiceFound):
            result = port_result(event.host, event.finding)
            await self._events.port(scan, run.request_id, result, service=isinstance(event, ServiceFound))
            await self._store.save_port(scan, port_result(event.host, event.finding, self._clock.now()))
        elif isinstance(event, HostDone):
            report = event.report
            run.counts = run.counts.plus(report.counts)
            for finding in report.open_ports:
                await self._store.save_port(scan, port_result(report.host, finding))
            await self._store.save_host(scan, host_result(report))

    async def _merge(self, scan: Scan, request_id: str) -> None:
        """Recount the done shards into the scan; the run that sees them all done ends it."""
        done, counts = await self._store.shards_done(scan.id)
        await self._store.record_shards_done(scan.id, len(done), counts)
        await self._raise_progress(scan, request_id)
        if len(done) == scan.shards.count:
            current = await self._store.by_id(scan.id) or scan
            await self._end(current, COMPLETED, request_id, counts=counts)

    async def _raise_progress(self, scan: Scan, request_id: str) -> None:
        """Recount the scan's progress from its shards; raise it and publish it when it grew."""
        done, running = await self._store.shard_progress(scan.id)
        plan = scan.shards
        probes = min(plan.probes, sum(plan.block(index).probes for index in done) + running)
        percent = min(99, probes * 100 // max(plan.probes, 1))
        if await self._store.raise_progress(scan.id, percent):
            event_id = f"{scan.id}.progress.p{percent}.r{scan.resumes}"
            await self._events.progress(scan, request_id, event_id, probes, plan.probes, percent)

    async def _stop(self, run: ShardRun, status: str, error: ScanError) -> None:
        await self._store.release_shard(run.scan.id, run.index, run.lease.claim)
        current = await self._store.by_id(run.scan.id) or run.scan
        if current.resumes != run.scan.resumes:
            # Resumed since this shard started (its stop was slower than another shard's end):
            # the stop belongs to the previous run, and the released shard goes to the new one.
            log.info("shard stopped after a resume", scan_id=run.scan.id, shard=run.index, status=status)
            return
        _, counts = await self._store.shards_done(run.scan.id)
        await self._end(current, status, run.request_id, error, counts.plus(run.counts.as_dict()))

    async def _end(
        self,
        scan: Scan,
        status: str,
        request_id: str,
        error: ScanError | None = None,
        counts: PortCounts | None = None,
    ) -> None:
        """End the scan once (compare-and-set on its status); only the winner publishes."""
        try:
            finished = scan.finish(status, self._clock.now(), counts or scan.counts, error)
        except IllegalTransition:
            return
        final = await self._store.finish(finished, claimed=False)
        if final is None:
            return  # another shard's worker ended it first
        await self._store.release_slot(final.owner.org_id)
        await self._events.lifecycle(final, request_id, error=error, summary=True)
        log.info("scan finished", scan_id=final.id, status=status, shards=final.shards.count)

    async def _replay_final(self, scan: Scan, request_id: str) -> None:
        """A delivery after the end: write the final event again (same id, so at most once)."""
        await self._events.lifecycle(scan, request_id, error=scan.error, summary=True)
