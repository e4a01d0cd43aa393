"""Running one scan: claim it under a lease, apply the engine's events, finish it exactly once.

A scan runs only after its claim is stored (another worker's live lease means: not here); it
finishes only while that claim is still the current one, so a worker that lost its lease cannot
overwrite the new holder's result. Port results are upserted and every event id is
deterministic, so a second run duplicates nothing (docs/security/durability.md).

The engine runs under a watchdog (``watchdog.EnginePhase``): the scan ends at its max_duration
even when the engine or a publish is stuck, and an owner's cancel stops only the engine, never
the finishing step (final state, slot, final event). A delivery of a scan that is already final
writes its final event again (same id, so at most once): a finish cut short between storing the
final state and storing its event (a crash, a shutdown) still gets its event out.
"""

from __future__ import annotations

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
from rampart_scan.durable import Leases
from rampart_scan.engine.scanner import Event, HostDone, PortFound, Progress, ServiceFound
from rampart_scan.findings import host_result, port_result
from rampart_scan.interfaces import Clock, Engine, Pacer, ScanEventSink, ScanStore, SystemClock
from rampart_scan.watchdog import STOP_GRACE, STUCK_AFTER, Ending, EnginePhase

log = structlog.get_logger(__name__)
PROGRESS_EVERY = 0.25  # seconds between progress events
STORE_PROGRESS_EVERY = 1.0


@dataclass
class Run:
    """One scan being executed here: the scan as claimed and what it has found so far."""

    scan: Scan
    request_id: str
    claimed: bool = False
    counts: PortCounts = field(default_factory=PortCounts)
    phase: EnginePhase | None = None  # the engine running under its watchdog
    deadline: datetime | None = None
    cancelled_by_user: bool = False
    sent_progress: float = float("-inf")  # the first progress goes out at once
    stored_progress: float = float("-inf")
    sequence: int = 0


class ScanExecution:
    """The worker's use case: run a scan once, under a lease, from its stored spec."""

    def __init__(
        self,
        store: ScanStore,
        events: ScanEventSink,
        engine: Engine,
        leases: Leases,
        clock: Clock | None = None,
        pacer_for: Callable[[Scan], Pacer | None] | None = None,
        stop_grace: float = STOP_GRACE,
    ) -> None:
        self._stop_grace = stop_grace
        self._pacer_for = pacer_for
        self._store = store
        self._events = events
        self._engine = engine
        self._leases = leases
        self._clock = clock or SystemClock()
        self._runs: dict[str, Run] = {}

    @property
    def running(self) -> list[str]:
        """Scans running here now."""
        return [scan_id for scan_id, run in self._runs.items() if run.phase is not None]

    def holds(self, scan_id: str) -> bool:
        """Whether this worker holds the scan's claim and its run is not stuck past its deadline.

        Only then is its delivery kept alive (and its lease renewed).
        """
        run = self._runs.get(scan_id)
        if run is None:
            return False
        return run.deadline is None or self._clock.now() <= run.deadline + timedelta(seconds=STUCK_AFTER)

    async def renew(self, scan_id: str) -> None:
        run = self._runs.get(scan_id)
        if run is not None and not await self._leases.renew(run.scan):
            log.warning("lease lost", scan_id=scan_id)

    def cancel(self, scan_id: str) -> None:
        """Stop a scan running here because its owner cancelled it (it then finishes as cancelled)."""
        run = self._runs.get(scan_id)
        if run is not None and run.phase is not None and run.phase.active and not run.cancelled_by_user:
            run.cancelled_by_user = True
            run.phase.stop()

    async def execute(self, scan_id: str, request_id: str) -> bool:
        """Run the scan under a lease; False when another worker's live lease holds it."""
        scan = await self._store.by_id(scan_id)
        if scan is None:
            return True
        if scan.is_final:  # its final event again, in case the finish stopped before storing it
            await self._events.lifecycle(scan, request_id, error=scan.error, summary=True)
            return True
        run = Run(scan, request_id)
        if scan.cancel_requested:
            await self._finish(run, CANCELLED, CANCELLED_BY_CALLER)
            return True
        claimed = await self._leases.claim(scan)
        if claimed is None:
            current = await self._store.by_id(scan_id)
            return current is None or current.is_final
        run.scan, run.claimed = claimed, True
        self._runs[scan_id] = run
        try:
            await self._events.lifecycle(claimed, request_id)
            await self._run(run)
        finally:
            if self._runs.get(scan_id) is run:
                del self._runs[scan_id]
        return True

    async def give_up(self, scan_id: str, request_id: str) -> None:
        """Its deliveries ran out: the scan fails rather than staying active for ever."""
        scan = await self._store.by_id(scan_id)
        if scan is not None:
            await self._finish(Run(scan, request_id), FAILED, COULD_NOT_RUN)

    async def _run(self, run: Run) -> None:
        scan = run.scan
        max_duration = scan.spec.max_duration_seconds
        run.deadline = (scan.started_at or self._clock.now()) + timedelta(seconds=max_duration)
        remaining = (run.deadline - self._clock.now()).total_seconds()
        status: str = TIMEOUT
        error: ScanError | None = timed_out(max_duration)
        if remaining > 0:
            run.phase = EnginePhase(self._scan(run), self._stop_grace)
            try:
                ending = await run.phase.wait(remaining)
            except TimeoutError:  # raised inside the engine: as before, the scan timed out
                ending = Ending.DEADLINE
            except RampartError as refused:  # e.g. the target left the scope since it was accepted
                ending, status, error = Ending.DONE, FAILED, ScanError(refused.public_code, refused.message)
            else:
                if ending is Ending.DONE:
                    status, error = COMPLETED, None
            if ending is Ending.STOPPED:
                status, error = CANCELLED, CANCELLED_BY_CALLER
        await self._finish(run, status, error)

    async def _scan(self, run: Run) -> None:
        """The engine phase: what a cancel or the deadline stops."""
        scan = run.scan
        pacer = self._pacer_for(scan) if self._pacer_for is not None else None
        engine = await self._engine.start(scan, None, pacer)
        if engine.excluded is not None and tuple(engine.excluded) != scan.excluded_endpoints:
            await self._store.save_excluded(scan.id, engine.excluded)
        async for event in engine.events:
            await self._apply(run, event)

    async def _apply(self, run: Run, event: Event) -> None:
        scan = run.scan
        if isinstance(event, Progress):
            run.scan = scan = scan.report_progress(event.percent)
            now = self._clock.monotonic()
            if now - run.sent_progress >= PROGRESS_EVERY:
                run.sent_progress, run.sequence = now, run.sequence + 1
                event_id = f"{scan.id}.progress.{scan.attempts}.{run.sequence}"
                await self._events.progress(
                    scan, run.request_id, event_id, event.ports_done, event.ports_total, event.percent
                )
            if now - run.stored_progress >= STORE_PROGRESS_EVERY:
                run.stored_progress = now
                await self._store.save_progress(scan)
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
            await self._store.save_counts(scan.id, run.counts)

    async def _finish(self, run: Run, status: str, error: ScanError | None = None) -> None:
        try:
            finished = run.scan.finish(status, self._clock.now(), run.counts, error)
        except IllegalTransition:
            return  # already final: finished elsewhere
        if run.claimed:
            final = await self._leases.finish(finished)
        else:
            final = await self._store.finish(finished, claimed=False)
        if final is None:
            return  # finished elsewhere (a cancel of a queued scan, or a worker that took it over)
        await self._store.release_slot(final.owner.org_id)
        await self._events.lifecycle(final, run.request_id, error=error, summary=True)
        log.info(
            "scan finished",
            scan_id=final.id,
            status=status,
            duration_seconds=round(final.duration_seconds, 3),
        )
