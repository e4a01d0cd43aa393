"""Running one scan: claim it under a lease, apply the engine's events, finish it exactly once.

A scan runs only after its claim is stored (another worker's live lease means: not here); it
finishes only while that claim is still the current one, so a worker that lost its lease cannot
overwrite the new holder's result. Port results are upserted and every event id is
deterministic, so a second run duplicates nothing (docs/security/durability.md).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

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
    task: asyncio.Task[object] | None = None
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
    ) -> None:
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
        return [scan_id for scan_id, run in self._runs.items() if run.task is not None]

    def holds(self, scan_id: str) -> bool:
        """Whether this worker holds the scan's claim (its delivery is kept alive only then)."""
        return scan_id in self._runs

    async def renew(self, scan_id: str) -> None:
        run = self._runs.get(scan_id)
        if run is not None and not await self._leases.renew(run.scan):
            log.warning("lease lost", scan_id=scan_id)

    def cancel(self, scan_id: str) -> None:
        """Stop a scan running here because its owner cancelled it (it then finishes as cancelled)."""
        run = self._runs.get(scan_id)
        if run is not None and run.task is not None and not run.cancelled_by_user:
            run.cancelled_by_user = True
            run.task.cancel()

    async def execute(self, scan_id: str, request_id: str) -> bool:
        """Run the scan under a lease; False when another worker's live lease holds it."""
        scan = await self._store.by_id(scan_id)
        if scan is None or scan.is_final:
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
            run.task = asyncio.current_task()
            await self._run(run)
        finally:
            self._runs.pop(scan_id, None)
        return True

    async def give_up(self, scan_id: str, request_id: str) -> None:
        """Its deliveries ran out: the scan fails rather than staying active for ever."""
        scan = await self._store.by_id(scan_id)
        if scan is not None:
            await self._finish(Run(scan, request_id), FAILED, COULD_NOT_RUN)

    async def _run(self, run: Run) -> None:
        scan = run.scan
        max_duration = scan.spec.max_duration_seconds
        started = scan.started_at or self._clock.now()
        remaining = max_duration - (self._clock.now() - started).total_seconds()
        try:
            if remaining <= 0:
                raise TimeoutError
            async with asyncio.timeout(remaining):
                pacer = self._pacer_for(scan) if self._pacer_for is not None else None
                engine = await self._engine.start(scan, None, pacer)
                if engine.excluded is not None and tuple(engine.excluded) != scan.excluded_endpoints:
                    await self._store.save_excluded(scan.id, engine.excluded)
                async for event in engine.events:
                    await self._apply(run, event)
        except TimeoutError:
            await self._finish(run, TIMEOUT, timed_out(max_duration))
        except asyncio.CancelledError:
            if not run.cancelled_by_user:
                raise
            asyncio.current_task().uncancel()  # type: ignore[union-attr]
            await self._finish(run, CANCELLED, CANCELLED_BY_CALLER)
        except RampartError as refused:  # e.g. the target left the scope since it was accepted
            await self._finish(run, FAILED, ScanError(refused.public_code, refused.message))
        else:
            await self._finish(run, COMPLETED)

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
