"""What a report is: its request, its state while a worker generates it, and its file."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from rampart.lib.errors import FailedPrecondition, InvalidArgument, NotFound
from rampart_report.reports.scope import Scope, checked_scope


class ReportType(StrEnum):
    EXECUTIVE = "executive"
    TECHNICAL = "technical"
    COMPLIANCE = "compliance"
    REMEDIATION = "remediation"
    DIFF = "diff"


class ReportFormat(StrEnum):
    JSON = "json"
    CSV = "csv"
    SARIF = "sarif"
    HTML = "html"
    PDF = "pdf"


class ReportStatus(StrEnum):
    PENDING = "pending"  # queued
    RUNNING = "running"  # a worker holds it
    READY = "ready"  # the file is in the store
    FAILED = "failed"


# The sections each type has, in order; include_sections picks among them.
SECTIONS: dict[ReportType, tuple[str, ...]] = {
    ReportType.EXECUTIVE: ("summary", "risk", "recommendations"),
    ReportType.TECHNICAL: ("summary", "findings", "ports", "trend"),
    ReportType.REMEDIATION: ("findings", "remediation"),
    ReportType.COMPLIANCE: ("posture", "gaps"),
    ReportType.DIFF: ("summary", "hosts", "ports", "services", "certificates", "findings"),
}
FORMATS: dict[ReportType, tuple[ReportFormat, ...]] = {
    ReportType.EXECUTIVE: (ReportFormat.HTML, ReportFormat.PDF, ReportFormat.JSON),
    ReportType.TECHNICAL: tuple(ReportFormat),
    ReportType.REMEDIATION: (ReportFormat.HTML, ReportFormat.PDF, ReportFormat.JSON, ReportFormat.CSV),
    ReportType.COMPLIANCE: (ReportFormat.HTML, ReportFormat.PDF, ReportFormat.JSON),
    # CSV: a row per change; SARIF: the new, reopened and resolved findings with their baselineState
    ReportType.DIFF: tuple(ReportFormat),
}
MAX_SCANS = 20


class ReportNotFound(NotFound):
    """No such report in the caller's organisation and mode (another tenant's, or expired)."""

    public_code = "REPORT_NOT_FOUND"


class ReportNotReady(FailedPrecondition):
    public_code = "REPORT_NOT_READY"


class ScanNotFinished(FailedPrecondition):
    """A diff report of a scan that has not completed (scan-service's refusal, passed on)."""

    public_code = "SCAN_NOT_FINISHED"


class NoScanToCompare(FailedPrecondition):
    """A diff report of one scan with no earlier completed scan of the same targets."""

    public_code = "NO_SCAN_TO_COMPARE"


class AssetNotFound(NotFound):
    public_code = "ASSET_NOT_FOUND"


class ReportFailed(Exception):
    """The report can never be generated (e.g. a scan is gone): it fails without retries."""


@dataclass(frozen=True)
class Section:
    """A section asked for and what the report has in it."""

    name: str
    included: bool = True
    note: str = ""  # why not (or what stands in for it)
    source: str = ""  # "assistant", "summary", "scan", ...


@dataclass(frozen=True)
class Tenant:
    """Whose report: the organisation, the user asking, and whether it is a test key's (sandbox)."""

    org_id: str
    user_id: str = ""
    sandbox: bool = False


@dataclass(frozen=True)
class ReportRequest:
    """A report asked for, checked by :func:`checked`."""

    report_type: ReportType
    format: ReportFormat
    scan_ids: tuple[str, ...]
    sections: tuple[str, ...] = ()
    title: str = ""
    frameworks: tuple[str, ...] = ()
    scope: Scope | None = None  # instead of scan_ids: the scans of these assets in a period


def checked(request: ReportRequest) -> ReportRequest:
    """The request with its default sections, or InvalidArgument naming the field."""
    if request.scope is not None:
        return _checked_scoped(request)
    if request.format not in FORMATS[request.report_type]:
        allowed = [f.value for f in FORMATS[request.report_type]]
        raise InvalidArgument(f"a {request.report_type.value} report comes as {allowed}", field="format")
    scans = tuple(dict.fromkeys(s.strip() for s in request.scan_ids if s.strip()))
    if request.report_type is ReportType.COMPLIANCE:
        if scans:  # the posture is the organisation's, from all its records
            raise InvalidArgument("a compliance report covers the organisation, not scans", field="scan_ids")
    elif not scans:
        raise InvalidArgument("a report covers at least one scan", field="scan_ids")
    elif request.frameworks:
        raise InvalidArgument("frameworks go with a compliance report", field="frameworks")
    if len(scans) > MAX_SCANS:
        raise InvalidArgument(f"a report covers at most {MAX_SCANS} scans", field="scan_ids")
    if request.report_type is ReportType.DIFF and len(scans) > 2:
        raise InvalidArgument(
            "a diff report compares two scans (or one with the previous scan of its targets)",
            field="scan_ids",
        )
    return _sections_and_title(replace(request, scan_ids=scans))


def _checked_scoped(request: ReportRequest) -> ReportRequest:
    assert request.scope is not None
    if request.format not in FORMATS[request.report_type]:
        allowed = [f.value for f in FORMATS[request.report_type]]
        raise InvalidArgument(f"a {request.report_type.value} report comes as {allowed}", field="format")
    if request.report_type is ReportType.COMPLIANCE:
        raise InvalidArgument("a compliance report covers the organisation, not assets", field="assets")
    if any(s.strip() for s in request.scan_ids):
        raise InvalidArgument("give scan_ids, or assets and a period, not both", field="scan_ids")
    if request.frameworks:
        raise InvalidArgument("frameworks go with a compliance report", field="frameworks")
    return _sections_and_title(replace(request, scan_ids=(), scope=checked_scope(request.scope)))


def _sections_and_title(request: ReportRequest) -> ReportRequest:
    known = SECTIONS[request.report_type]
    unknown = [s for s in request.sections if s not in known]
    if unknown:
        raise InvalidArgument(
            f"unknown sections {unknown}; this type has {list(known)}", field="include_sections"
        )
    sections = tuple(s for s in known if s in request.sections) or known
    title = request.title.strip() or f"{request.report_type.value.capitalize()} report"
    frameworks = tuple(dict.fromkeys(f.strip().lower() for f in request.frameworks if f.strip()))
    return replace(request, sections=sections, title=title[:200], frameworks=frameworks)


@dataclass(frozen=True)
class Report:
    """A report and where its generation stands."""

    report_id: str
    tenant: Tenant
    request: ReportRequest
    created_at: datetime
    expires_at: datetime
    status: ReportStatus = ReportStatus.PENDING
    progress: int = 0
    sections: tuple[Section, ...] = ()
    file: StoredFile | None = None
    ready_at: datetime | None = None
    error: str = ""
    attempts: int = 0

    @property
    def finished(self) -> bool:
        return self.status in (ReportStatus.READY, ReportStatus.FAILED)


@dataclass(frozen=True)
class StoredFile:
    """The generated file as kept in the store (its bytes live in the file store)."""

    filename: str
    content_type: str
    size: int
    sha256: str


@dataclass(frozen=True)
class RenderedReport:
    """What a renderer produced: the bytes and what became of each section."""

    filename: str
    content_type: str
    content: bytes
    sections: tuple[Section, ...] = field(default_factory=tuple)
