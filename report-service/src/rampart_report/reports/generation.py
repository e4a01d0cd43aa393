"""Generating one report: what a worker does with a job from the REPORT_JOBS queue.

A job may be delivered more than once (a worker died, a redelivery after ack_wait): the report
is claimed with a lease in the store, its file is stored under the report's own id (a second
attempt replaces the first's leftovers), and events carry ids the broker de-duplicates, so one
job makes one report and one ``report.completed`` however often it arrives.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import structlog

from rampart_report.reports.model import Report, ReportFailed, ReportStatus, StoredFile
from rampart_report.reports.ports import FileStore, Renderer, ReportEvents, ReportRepository

log = structlog.get_logger(__name__)


class ReportGeneration:
    """Runs report jobs on one worker; ``worker`` names it in the leases it holds."""

    def __init__(
        self,
        repository: ReportRepository,
        files: FileStore,
        renderer: Renderer,
        events: ReportEvents,
        worker: str,
        lease_seconds: float = 60.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._repository = repository
        self._files = files
        self._renderer = renderer
        self._events = events
        self._worker = worker
        self._lease = timedelta(seconds=lease_seconds)
        self._clock = clock
        self._held: set[str] = set()

    def holds(self, report_id: str) -> bool:
        return report_id in self._held

    async def renew(self, report_id: str) -> None:
        if not await self._repository.renew(report_id, self._worker, self._clock() + self._lease):
            self._held.discard(report_id)

    async def execute(self, report_id: str) -> bool:
        """Generate the report; False when another worker holds it (the job is left to that one)."""
        now = self._clock()
        claim = await self._repository.claim(report_id, self._worker, now, now + self._lease)
        report = claim.report
        if report is None:
            log.info("report_gone", report_id=report_id)  # deleted or expired meanwhile
            return True
        if report.finished:
            # Done by an earlier delivery, maybe one that died before announcing it: announce
            # again (same event id: the broker drops it if it went out) and settle the job.
            await (self._events.completed if report.status is ReportStatus.READY else self._events.failed)(
                report
            )
            return True
        if not claim.ours:
            return False
        self._held.add(report_id)
        try:
            await self._generate(report)
        finally:
            self._held.discard(report_id)
        return True

    async def _generate(self, report: Report) -> None:
        report_id = report.report_id

        async def progress(stage: str, percent: int) -> None:
            await self._repository.set_progress(report_id, self._worker, percent)
            await self._events.progress(report, stage, percent)

        await progress("started", 0)
        try:
            rendered = await self._renderer.render(report, progress)
        except ReportFailed as error:
            await self.fail(report_id, str(error))
            return
        await progress("storing", 90)
        await self._files.put(report_id, rendered.filename, rendered.content, rendered.content_type)
        stored = StoredFile(
            rendered.filename,
            rendered.content_type,
            len(rendered.content),
            hashlib.sha256(rendered.content).hexdigest(),
        )
        done = await self._repository.complete(
            report_id, self._worker, stored, rendered.sections, self._clock()
        )
        if done is None:
            if await self._repository.load(report_id) is None:
                await self._files.delete(report_id)  # deleted while it was generated
            log.info("report_not_ours_any_more", report_id=report_id)
            return
        log.info("report_ready", report_id=report_id, size=stored.size)
        await self._events.completed(done)

    async def fail(self, report_id: str, error: str) -> None:
        """The report failed for good (or its last delivery did): record it and announce it."""
        report = await self._repository.fail(report_id, error, self._clock())
        if report is not None:
            log.warning("report_failed", report_id=report_id, error=error)
            await self._events.failed(report)
