"""In-memory report store, file store, queue, events and renderer for the report use cases' tests."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from rampart_report.reports.model import (
    RenderedReport,
    Report,
    ReportFailed,
    ReportStatus,
    Section,
    StoredFile,
    Tenant,
)
from rampart_report.reports.ports import Claim, Filters, Progress


class Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class _Row:
    report: Report
    worker: str = ""
    lease_until: datetime | None = None


class MemoryReports:
    """``ReportRepository`` over a dict, with the same claim and lease rules as the Mongo one."""

    def __init__(self) -> None:
        self.rows: dict[str, _Row] = {}

    async def add(self, report: Report) -> None:
        self.rows[report.report_id] = _Row(report)

    async def get(self, tenant: Tenant, report_id: str, now: datetime) -> Report | None:
        row = self.rows.get(report_id)
        if row is None or row.report.tenant.org_id != tenant.org_id:
            return None
        if row.report.tenant.sandbox != tenant.sandbox or row.report.expires_at <= now:
            return None
        return row.report

    async def load(self, report_id: str) -> Report | None:
        row = self.rows.get(report_id)
        return row.report if row else None

    async def page(
        self, tenant: Tenant, filters: Filters, offset: int, limit: int, now: datetime
    ) -> list[Report]:
        found = [
            r
            for row in self.rows.values()
            if (r := row.report).tenant.org_id == tenant.org_id
            and r.tenant.sandbox == tenant.sandbox
            and r.expires_at > now
            and (filters.report_type is None or r.request.report_type is filters.report_type)
            and (filters.status is None or r.status is filters.status)
            and (not filters.scan_id or filters.scan_id in r.request.scan_ids)
        ]
        found.sort(key=lambda r: (r.created_at, r.report_id), reverse=True)
        return found[offset : offset + limit]

    async def claim(self, report_id: str, worker: str, now: datetime, lease_until: datetime) -> Claim:
        row = self.rows.get(report_id)
        if row is None:
            return Claim(None, False)
        free = row.report.status is ReportStatus.PENDING or (
            row.report.status is ReportStatus.RUNNING
            and (row.worker == worker or row.lease_until is None or row.lease_until <= now)
        )
        if not free:
            return Claim(row.report, False)
        row.worker, row.lease_until = worker, lease_until
        row.report = replace(row.report, status=ReportStatus.RUNNING, attempts=row.report.attempts + 1)
        return Claim(row.report, True)

    async def renew(self, report_id: str, worker: str, lease_until: datetime) -> bool:
        row = self.rows.get(report_id)
        if row is None or row.worker != worker or row.report.status is not ReportStatus.RUNNING:
            return False
        row.lease_until = lease_until
        return True

    async def set_progress(self, report_id: str, worker: str, percent: int) -> None:
        row = self.rows.get(report_id)
        if row is not None and row.worker == worker:
            row.report = replace(row.report, progress=percent)

    async def complete(
        self, report_id: str, worker: str, file: StoredFile, sections: tuple[Section, ...], now: datetime
    ) -> Report | None:
        row = self.rows.get(report_id)
        if row is None or row.worker != worker or row.report.status is not ReportStatus.RUNNING:
            return None
        row.report = replace(
            row.report, status=ReportStatus.READY, file=file, sections=sections, ready_at=now, progress=100
        )
        return row.report

    async def fail(self, report_id: str, error: str, now: datetime) -> Report | None:
        row = self.rows.get(report_id)
        if row is None:
            return None
        if not row.report.finished:
            row.report = replace(row.report, status=ReportStatus.FAILED, error=error)
        return row.report

    async def delete(self, tenant: Tenant, report_id: str) -> bool:
        row = self.rows.get(report_id)
        if row is None or (row.report.tenant.org_id, row.report.tenant.sandbox) != (
            tenant.org_id,
            tenant.sandbox,
        ):
            return False
        del self.rows[report_id]
        return True

    async def expired(self, now: datetime, limit: int) -> list[str]:
        return [i for i, row in self.rows.items() if row.report.expires_at <= now][:limit]

    async def remove(self, report_id: str) -> None:
        self.rows.pop(report_id, None)


class MemoryFiles:
    """``FileStore`` over a dict; counts the puts."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.puts = 0

    async def put(self, file_id: str, filename: str, content: bytes, content_type: str) -> None:
        self.puts += 1
        self.files[file_id] = content

    async def read(self, file_id: str, offset: int, length: int) -> bytes:
        if file_id not in self.files:
            raise FileNotFoundError(file_id)
        return self.files[file_id][offset : offset + length]

    async def delete(self, file_id: str) -> None:
        self.files.pop(file_id, None)


@dataclass
class MemoryQueue:
    jobs: list[tuple[str, str]] = field(default_factory=list)

    async def enqueue(self, report_id: str, request_id: str) -> None:
        self.jobs.append((report_id, request_id))


class BrokerEvents:
    """``ReportEvents`` that keep what a broker would: one event per id (Nats-Msg-Id de-duplication)."""

    def __init__(self) -> None:
        self.published: dict[str, tuple[str, Report]] = {}

    def _publish(self, event_id: str, kind: str, report: Report) -> None:
        self.published.setdefault(event_id, (kind, report))

    async def progress(self, report: Report, stage: str, percent: int) -> None:
        self._publish(f"{report.report_id}.progress.{stage}.{report.attempts}", "report.progress", report)

    async def completed(self, report: Report) -> None:
        self._publish(f"{report.report_id}.completed", "report.completed", report)

    async def failed(self, report: Report) -> None:
        self._publish(f"{report.report_id}.failed", "report.failed", report)

    def kinds(self, report_id: str) -> list[str]:
        return [kind for kind, report in self.published.values() if report.report_id == report_id]


class FakeRenderer:
    """Renders "<type> of <scans> [sections]" as text; ``fail_with`` / ``gone`` make it fail."""

    def __init__(self) -> None:
        self.calls = 0
        self.fail_with: Exception | None = None
        self.gone: set[str] = set()  # scans that no longer exist

    async def render(self, report: Report, progress: Progress) -> RenderedReport:
        self.calls += 1
        if self.fail_with is not None:
            raise self.fail_with
        missing = [s for s in report.request.scan_ids if s in self.gone]
        if missing:
            raise ReportFailed(f"scan {missing[0]} not found")
        await progress("rendering", 50)
        body = f"{report.request.report_type.value} of {','.join(report.request.scan_ids)}"
        body += f" [{','.join(report.request.sections)}]"
        return RenderedReport(
            f"{report.report_id}.{report.request.format.value}",
            "application/pdf",
            body.encode() * 10,
            tuple(Section(name) for name in report.request.sections),
        )
