"""The report use cases the API calls: ask for one, list, get, download, delete, and the sweep."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import structlog

from rampart.lib.ids import new_id
from rampart_report.reports.model import (
    Report,
    ReportNotFound,
    ReportNotReady,
    ReportRequest,
    ReportStatus,
    StoredFile,
    Tenant,
    checked,
)
from rampart_report.reports.ports import FileStore, Filters, JobQueue, Picker, ReportRepository

log = structlog.get_logger(__name__)
MAX_READ = 1024 * 1024  # bytes per DownloadReport reply (a gRPC message stays well under 4 MiB)
SWEEP_BATCH = 200


@dataclass(frozen=True)
class Retention:
    """How long a report's file is kept, per plan (days); unknown plans get ``default_days``."""

    days: Mapping[str, float]
    default_days: float = 7.0

    def of(self, plan: str) -> timedelta:
        return timedelta(days=self.days.get(plan, self.default_days))


@dataclass(frozen=True)
class Chunk:
    """A part of a report's file, with what a download's headers say about the whole."""

    file: StoredFile
    offset: int
    content: bytes


class ReportService:
    """Reports of one tenant at a time; the generation itself runs in ``generation.ReportGeneration``."""

    def __init__(
        self,
        repository: ReportRepository,
        files: FileStore,
        queue: JobQueue,
        retention: Retention,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        picker: Picker | None = None,
    ) -> None:
        self._picker = picker  # None: requests are taken as given (narrow unit tests)
        self._repository = repository
        self._files = files
        self._queue = queue
        self._retention = retention
        self._clock = clock

    async def create(self, tenant: Tenant, request: ReportRequest, plan: str, request_id: str = "") -> Report:
        """Record the report as pending and queue its job (answered before it is generated).

        The scans are fixed now (a diff's pair, the scans of assets in a period), so a refusal
        (no such scan, not completed, nothing to compare, no scan of the assets) answers the call."""
        now = self._clock()
        request = checked(request)
        if self._picker is not None:
            request = await self._picker.prepare(tenant, request, now)
        report = Report(
            report_id=new_id("rep"),
            tenant=tenant,
            request=request,
            created_at=now,
            expires_at=now + self._retention.of(plan),
        )
        await self._repository.add(report)
        # Queued after the record exists: a worker that gets the job always finds the report.
        await self._queue.enqueue(report.report_id, request_id)
        log.info("report_queued", report_id=report.report_id, type=report.request.report_type.value)
        return report

    async def get(self, tenant: Tenant, report_id: str) -> Report:
        report = await self._repository.get(tenant, report_id, self._clock())
        if report is None:
            raise ReportNotFound("report not found", report_id=report_id)
        return report

    async def page(self, tenant: Tenant, filters: Filters, offset: int, limit: int) -> list[Report]:
        return await self._repository.page(tenant, filters, offset, limit, self._clock())

    async def read(self, tenant: Tenant, report_id: str, offset: int, length: int) -> Chunk:
        """A range of a ready report's file (``length`` 0: to the end, at most MAX_READ bytes)."""
        report = await self.get(tenant, report_id)
        if report.status is not ReportStatus.READY or report.file is None:
            raise ReportNotReady(f"the report is {report.status.value}", report_id=report_id)
        offset = max(offset, 0)
        length = min(length if length > 0 else MAX_READ, MAX_READ, max(report.file.size - offset, 0))
        content = await self._files.read(report_id, offset, length) if length else b""
        return Chunk(report.file, offset, content)

    async def delete(self, tenant: Tenant, report_id: str) -> None:
        if not await self._repository.delete(tenant, report_id):
            raise ReportNotFound("report not found", report_id=report_id)
        await self._files.delete(report_id)

    async def sweep(self) -> int:
        """Remove the reports past their retention, file first; returns how many went."""
        removed = 0
        for report_id in await self._repository.expired(self._clock(), SWEEP_BATCH):
            await self._files.delete(report_id)
            await self._repository.remove(report_id)
            removed += 1
        if removed:
            log.info("reports_expired", removed=removed)
        return removed
