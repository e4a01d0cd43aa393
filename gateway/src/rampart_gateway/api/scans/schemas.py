"""Request and response bodies of the scan operations; the OpenAPI schemas come from these."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from rampart_gateway.inputs import Body


class ScanOptionsBody(Body):
    os_detection: bool = False
    service_detection: bool = False
    ssl_check: bool = False
    fast_mode: bool = False


class ScanCreateRequest(Body):
    """Seed 000 form (``target``) or seed 003 form (``targets`` + ``profile`` + ``max_duration``)."""

    target: str | None = Field(default=None, max_length=255, examples=["127.0.0.1"])
    targets: list[str] | None = Field(default=None, max_length=256)
    scan_type: Literal["tcp", "udp"] = "tcp"
    ports: str | None = Field(default=None, max_length=4096, examples=["1-1000", "22,80,443", "top-100", "-"])
    options: ScanOptionsBody = Field(default_factory=ScanOptionsBody)
    profile: Literal["standard", "compliance", "pentest"] | None = None
    max_duration: float | None = Field(default=None, gt=0, le=1440, description="minutes (fractions allowed)")
    rate: float | None = Field(
        default=None,
        gt=0,
        le=1_000_000,
        description="probes per second for this scan, over all its workers (the plan's cap still applies)",
    )

    @model_validator(mode="after")
    def one_target_form(self) -> ScanCreateRequest:
        if (self.target is None) == (self.targets is None):
            raise ValueError("give either target or targets")
        return self


class ScanCreated(BaseModel):
    scan_id: str
    status: str
    target: str
    targets: list[str]
    created_at: str | None
    estimated_duration: int
    websocket_url: str
    sse_url: str
    sandbox: bool


class ScanSummary(BaseModel):
    scan_id: str
    status: str
    target: str
    targets: list[str]
    scan_type: str
    ports: str
    profile: str
    options: dict[str, bool]
    max_duration: float
    progress: int
    created_at: str | None
    started_at: str | None
    completed_at: str | None
    estimated_duration: int
    estimated_completion: str | None
    results: dict[str, int]
    error: dict[str, str] | None
    sandbox: bool
    excluded_endpoints: list[str]
    rate: float | None = None
    shards: dict[str, int] | None = None
    resumes: int = 0


class ScanFindingFields(BaseModel):
    """From threat-service (null when it cannot be reached): what the scan's findings add up to."""

    vulnerabilities_found: int | None = Field(default=None, description="findings this scan announced")
    vulnerability_counts: dict[str, int] | None = Field(
        default=None, description="by severity: critical, high, medium, low, info"
    )
    findings_settled: bool | None = Field(
        default=None, description="the scan ended and its findings are final"
    )


class ScanListItem(ScanSummary, ScanFindingFields):
    pass


class ScanList(BaseModel):
    items: list[ScanListItem]
    total: int
    page: int
    per_page: int
    pages: int
    next_cursor: str | None


class ScanResults(BaseModel):
    scan_id: str
    target: str
    targets: list[str]
    scan_type: str
    status: str
    started_at: str | None
    completed_at: str | None
    duration: float
    summary: dict[str, int]
    error: dict[str, str] | None
    sandbox: bool
    excluded_endpoints: list[str]
    ports: list[dict[str, Any]]
    hosts: list[dict[str, Any]]
    vulnerabilities_found: int | None = None
    vulnerability_counts: dict[str, int] | None = None
    findings_settled: bool | None = None
    vulnerabilities: list[dict[str, Any]] | None = Field(
        default=None, description="the scan's findings, most severe first (as its stream's finding events)"
    )
    vulnerabilities_resolved: int | None = Field(default=None, description="records this scan showed fixed")


class ScanExport(BaseModel):
    """The JSON export (report-service): the scan, every port, and the findings it saw."""

    scan: dict[str, Any]
    generated_at: str | None
    ports: list[dict[str, Any]]
    findings: list[dict[str, Any]] | None = Field(description="null when threat-service could not say")
    findings_note: str | None


class DeletedResults(BaseModel):
    scan_id: str
    deleted_ports: int
