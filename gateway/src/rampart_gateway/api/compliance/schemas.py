"""Compliance request, query and response models (parsing and the OpenAPI document)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from rampart_gateway.inputs import Body, Params

ControlStatusWord = Literal["passing", "failing", "not_assessed", "manual"]
FRAMEWORK = r"^[a-z0-9][a-z0-9-]{1,31}$"


class ComplianceQuery(Params):
    frameworks: str = Field(
        default="",
        max_length=200,
        pattern=r"^([a-z0-9][a-z0-9-]{1,31})?(,[a-z0-9][a-z0-9-]{1,31})*$",
        description="comma-separated framework ids (soc2, iso27001, hipaa, gdpr, pci-dss); none = all",
    )


class HistoryQuery(Params):
    days: int = Field(default=30, ge=1, le=366, description="the period: the last N days, one snapshot a day")


class ControlsQuery(Params):
    framework: str = Field(default="", max_length=32, pattern=r"^([a-z0-9][a-z0-9-]{1,31})?$")
    status: ControlStatusWord | None = None
    q: str = Field(default="", max_length=100, description="in the control id or name, case-insensitive")
    page: int = Field(default=1, ge=1, le=10_000)
    per_page: int = Field(default=50, ge=1, le=100)


class ControlUpdateRequest(Body):
    status: Literal["passing", "failing", "manual"] | None = Field(
        default=None, description="a manual status (controls needing manual evidence only); manual clears it"
    )
    note: str = Field(default="", max_length=2000, description="why; required with passing / failing")
    owner: str | None = Field(default=None, max_length=128, description="the user id who owns the control")


class EvidenceQuery(Params):
    filename: str = Field(
        default="evidence", min_length=1, max_length=200, description="the file's name (shown only)"
    )


class Check(BaseModel):
    check: str
    outcome: str
    detail: str
    count: int


class GapView(BaseModel):
    check: str
    host: str
    port: int
    vulnerability_id: str | None
    title: str
    severity: str | None
    rule_id: str | None
    cve: str | None
    remediation: str


class AttestationView(BaseModel):
    status: ControlStatusWord | None
    note: str
    owner: str | None
    updated_by: str
    updated_at: str | None


class ControlSummary(BaseModel):
    """Seed 002's shape: id, name, status, frameworks, evidence_count; plus where it comes from."""

    id: str
    name: str
    status: ControlStatusWord
    frameworks: list[str]
    evidence_count: int
    framework: str
    ref: str
    gaps_total: int
    manual: bool
    automated: bool


class ControlView(ControlSummary):
    description: str
    checks: list[Check]
    gaps: list[GapView]
    failing_hosts: list[str]
    excluded: list[GapView]
    attestation: AttestationView | None


class ChangeView(BaseModel):
    at: str | None
    actor: str
    from_status: str | None
    to_status: str | None
    note: str
    owner: str | None


class EvidenceView(BaseModel):
    id: str
    control_id: str
    filename: str
    content_type: str
    size: int
    sha256: str
    verdict: str
    analysis_id: str
    uploaded_by: str
    uploaded_at: str | None


class ControlDetailView(ControlView):
    history: list[ChangeView]
    evidence: list[EvidenceView]


class ControlList(BaseModel):
    items: list[ControlSummary]
    total: int
    page: int
    per_page: int
    pages: int


class FrameworkView(BaseModel):
    framework: str
    name: str
    version: str
    score: float
    controls_total: int
    passing: int
    failing: int
    not_assessed: int
    manual: int
    gaps: list[ControlView] = Field(description="the failing controls, with their gaps")
    controls: list[ControlView]


class PostureView(BaseModel):
    evaluated_at: str | None
    assets: int
    findings_open: int
    findings_excluded: int
    frameworks: list[FrameworkView]


class SnapshotView(BaseModel):
    day: str
    at: str | None
    scores: dict[str, float]
    statuses: dict[str, str]


class HistoryView(BaseModel):
    days: int
    snapshots: list[SnapshotView]
