"""What the report use cases need around them, as protocols: the store of reports and of their
files, the work queue, the events, and the renderer that turns a report's request into a file."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from rampart_report.exports.model import ScanInfo
from rampart_report.exports.ports import Requester
from rampart_report.reports.diff import ResultsDiff
from rampart_report.reports.model import (
    RenderedReport,
    Report,
    ReportRequest,
    ReportStatus,
    ReportType,
    Section,
    StoredFile,
    Tenant,
)

Progress = Callable[[str, int], Awaitable[None]]  # (stage, percent)


@dataclass(frozen=True)
class Filters:
    """A listing's filters; None / "" = any."""

    report_type: ReportType | None = None
    status: ReportStatus | None = None
    scan_id: str = ""


@dataclass(frozen=True)
class Claim:
    """What claiming a report for a worker found: the report (None: gone) and whether it is ours."""

    report: Report | None
    ours: bool


class ReportRepository(Protocol):
    async def add(self, report: Report) -> None: ...

    async def get(self, tenant: Tenant, report_id: str, now: datetime) -> Report | None:
        """The tenant's report unless expired."""
        ...

    async def load(self, report_id: str) -> Report | None:
        """A report whoever's it is (workers only)."""
        ...

    async def page(
        self, tenant: Tenant, filters: Filters, offset: int, limit: int, now: datetime
    ) -> list[Report]:
        """Newest first, expired ones left out."""
        ...

    async def claim(self, report_id: str, worker: str, now: datetime, lease_until: datetime) -> Claim:
        """Take a pending report (or a running one whose holder's lease ran out) for ``worker``."""
        ...

    async def renew(self, report_id: str, worker: str, lease_until: datetime) -> bool: ...

    async def set_progress(self, report_id: str, worker: str, percent: int) -> None: ...

    async def complete(
        self, report_id: str, worker: str, file: StoredFile, sections: tuple[Section, ...], now: datetime
    ) -> Report | None:
        """READY, if ``worker`` still holds it; None otherwise (deleted, or taken over)."""
        ...

    async def fail(self, report_id: str, error: str, now: datetime) -> Report | None:
        """FAILED unless already finished; the report as it now is (None: gone)."""
        ...

    async def delete(self, tenant: Tenant, report_id: str) -> bool: ...

    async def expired(self, now: datetime, limit: int) -> list[str]:
        """Ids of reports past their expiry."""
        ...

    async def remove(self, report_id: str) -> None: ...


class FileStore(Protocol):
    """Report files by report id (GridFS in the store)."""

    async def put(self, file_id: str, filename: str, content: bytes, content_type: str) -> None:
        """Store ``content`` under ``file_id``, replacing whatever a crashed attempt left."""
        ...

    async def read(self, file_id: str, offset: int, length: int) -> bytes:
        """``length`` bytes from ``offset`` (fewer at the end); FileNotFoundError when absent."""
        ...

    async def delete(self, file_id: str) -> None: ...


class JobQueue(Protocol):
    async def enqueue(self, report_id: str, request_id: str) -> None: ...


class ReportEvents(Protocol):
    """report.progress / report.completed / report.failed, each at most once per report and stage."""

    async def progress(self, report: Report, stage: str, percent: int) -> None: ...

    async def completed(self, report: Report) -> None: ...

    async def failed(self, report: Report) -> None: ...


class Renderer(Protocol):
    async def render(self, report: Report, progress: Progress) -> RenderedReport:
        """The report's file. Raises ReportFailed when it can never be made (a scan is gone);
        any other error is retried by the queue."""
        ...


class DiffSource(Protocol):
    """scan-service's comparison of two scans (``DiffScans``)."""

    async def diff(self, requester: Requester, scan_id: str, against: str) -> ResultsDiff:
        """``against`` empty: the previous completed scan of the same targets. Raises
        exports.errors.ScanNotFound, ScanNotFinished or NoScanToCompare."""
        ...


class ScanFinder(Protocol):
    """The completed scans of a period (scan-service) and the hosts of an asset (threat-service)."""

    async def completed(self, requester: Requester, start: datetime, end: datetime) -> tuple[ScanInfo, ...]:
        """The requester's completed scans created in [start, end], newest first (bounded)."""
        ...

    async def asset_hosts(self, requester: Requester, asset_id: str) -> tuple[str, ...]:
        """The asset's host and addresses; raises AssetNotFound."""
        ...


class Picker(Protocol):
    async def prepare(self, tenant: Tenant, request: ReportRequest, now: datetime) -> ReportRequest:
        """The checked request with its scans fixed (diff pair, scans of a scope), or a refusal."""
        ...
