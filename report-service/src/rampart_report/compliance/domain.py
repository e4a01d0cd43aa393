"""Compliance domain: what posture is computed from, what it says, and the service's errors."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime

from rampart.lib.errors import FailedPrecondition, InvalidArgument, NotFound
from rampart_report.compliance.catalogue import Control


class Status(enum.Enum):
    PASSING = "passing"
    FAILING = "failing"
    NOT_ASSESSED = "not_assessed"
    MANUAL = "manual"  # needs manual evidence nobody has attested yet


class FindingStatus(enum.Enum):
    OPEN = "open"
    CONFIRMED = "confirmed"
    FALSE_POSITIVE = "false_positive"
    ACCEPTED_RISK = "accepted_risk"
    RESOLVED = "resolved"
    REOPENED = "reopened"


SEVERITY_RANK = {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}


@dataclass(frozen=True)
class Tenant:
    """Who asks: the organisation and world (live/test) every read and write is scoped by."""

    org_id: str
    mode: str  # live | test
    user_id: str = ""
    key_id: str = ""
    scopes: tuple[str, ...] = ()


@dataclass(frozen=True)
class FindingRecord:
    """One vulnerability record of threat-service, as far as compliance needs it."""

    finding_id: str
    host: str
    port: int
    type: str  # vulnerable_service | misconfiguration | exposure
    severity: str  # info..critical
    status: FindingStatus
    title: str = ""
    rule_id: str = ""
    cve: str = ""
    cwes: tuple[str, ...] = ()
    remediation: str = ""
    accepted_until: datetime | None = None
    last_seen: datetime | None = None

    def excluded_reason(self, now: datetime) -> str:
        """Why this record does not count against controls ("" when it does)."""
        if self.status is FindingStatus.FALSE_POSITIVE:
            return "false_positive"
        if self.status is FindingStatus.ACCEPTED_RISK:
            if self.accepted_until is None or self.accepted_until > now:
                return "accepted_risk"
            return ""  # the acceptance expired: it counts again
        if self.status is FindingStatus.RESOLVED:
            return "resolved"
        return ""


@dataclass(frozen=True)
class ScanRecord:
    """One scan of scan-service, as far as coverage and freshness need it."""

    scan_id: str
    targets: tuple[str, ...]
    status: str  # completed, failed, ...
    completed_at: datetime | None = None


@dataclass(frozen=True)
class Attestation:
    """A person's manual status of a control, with why and who owns it."""

    control_id: str
    status: Status | None  # PASSING / FAILING; None = no manual status (only owner / note)
    note: str
    owner: str
    updated_by: str
    updated_at: datetime


@dataclass(frozen=True)
class ControlChange:
    """One history entry of a control: a computed status change or a person's update."""

    control_id: str
    at: datetime
    actor: str  # user id, or "rampart" for a computed change
    from_status: str
    to_status: str
    note: str = ""
    owner: str = ""
    change_id: str = ""  # computed changes: derived from what they follow, so a race records one


@dataclass(frozen=True)
class Gap:
    """Why a control fails: a finding (or an asset not scanned recently) and how to fix it."""

    check: str  # "rule RMP-TLS-006", "CWE-327", "type vulnerable_service >= high", "freshness 30 days"
    host: str
    port: int = 0
    finding_id: str = ""
    title: str = ""
    severity: str = ""
    rule_id: str = ""
    cve: str = ""
    remediation: str = ""


@dataclass(frozen=True)
class CheckResult:
    """The evidence behind a status: one check, its outcome and what it saw."""

    check: str
    outcome: str  # pass | fail | not_assessed | manual | excluded
    detail: str
    count: int = 0


@dataclass
class ControlPosture:
    control: Control
    status: Status
    checks: list[CheckResult] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)  # capped at MAX_GAPS, worst first
    gaps_total: int = 0
    failing_hosts: list[str] = field(default_factory=list)  # capped
    excluded: list[Gap] = field(default_factory=list)  # false positives / accepted risks, capped
    attestation: Attestation | None = None
    evidence_count: int = 0


@dataclass
class FrameworkPosture:
    key: str
    name: str
    version: str
    controls: list[ControlPosture]

    def count(self, status: Status) -> int:
        return sum(1 for control in self.controls if control.status is status)

    @property
    def score(self) -> float:
        """Percentage of the assessed (passing or failing) controls that pass; 0 when none is assessed."""
        passing, failing = self.count(Status.PASSING), self.count(Status.FAILING)
        return round(100.0 * passing / (passing + failing), 1) if passing + failing else 0.0


@dataclass
class Posture:
    frameworks: list[FrameworkPosture]
    evaluated_at: datetime
    assets: int
    findings_open: int
    findings_excluded: int

    def controls(self) -> list[ControlPosture]:
        return [control for framework in self.frameworks for control in framework.controls]


@dataclass(frozen=True)
class Snapshot:
    """Posture at one moment (one per day, the latest computation of the day): scores and statuses."""

    day: str  # YYYY-MM-DD (UTC)
    at: datetime
    scores: dict[str, float]
    statuses: dict[str, str]  # control id -> status


@dataclass(frozen=True)
class EvidenceFile:
    evidence_id: str
    control_id: str
    filename: str
    content_type: str  # sniffed from the content
    size: int
    sha256: str
    verdict: str  # benign / suspicious / unknown (malicious files are refused, never stored)
    analysis_id: str
    uploaded_by: str
    uploaded_at: datetime


@dataclass(frozen=True)
class PayloadVerdict:
    verdict: str  # benign | suspicious | malicious | unknown
    analysis_id: str
    risk_score: int
    reasons: tuple[str, ...] = ()


class ControlNotFound(NotFound):
    public_code = "CONTROL_NOT_FOUND"


class EvidenceTooLarge(InvalidArgument):
    public_code = "EVIDENCE_TOO_LARGE"


class EvidenceTypeNotAllowed(InvalidArgument):
    public_code = "EVIDENCE_TYPE_NOT_ALLOWED"


class EvidenceMalicious(FailedPrecondition):
    public_code = "EVIDENCE_MALICIOUS"
