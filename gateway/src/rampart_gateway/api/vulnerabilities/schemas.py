"""Request and response bodies of the catalog and vulnerability operations (OpenAPI)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from rampart_gateway.inputs import INSTANT, Body, Instant


class CvssScore(BaseModel):
    version: str
    vector: str
    base_score: float
    base_severity: str
    source: str
    type: str
    origin: str


class Weakness(BaseModel):
    cwe_id: str
    name: str | None
    source: str
    origin: str


class Kev(BaseModel):
    date_added: str
    due_date: str | None
    known_ransomware_campaign_use: str
    vulnerability_name: str
    required_action: str
    notes: str


class Epss(BaseModel):
    score: float
    percentile: float
    date: str


class ReferenceLink(BaseModel):
    url: str
    source: str
    tags: list[str]


class AffectedRange(BaseModel):
    origin: str
    provider: str | None
    criteria: str
    vulnerable: bool
    version: str | None
    start_including: str | None
    start_excluding: str | None
    end_including: str | None
    end_excluding: str | None
    status: str | None
    version_type: str | None


class Priority(BaseModel):
    priority: str
    exploitation: str
    automatable: str
    technical_impact: str


class Provenance(BaseModel):
    source: str
    import_id: str
    modified: str
    feed: str
    stale: bool


class CatalogEntry(BaseModel):
    cve_id: str
    description: str
    published: str | None
    last_modified: str | None
    vuln_status: str | None
    cvss: CvssScore | None
    scores: list[CvssScore]
    cwe: list[Weakness]
    kev: Kev | None
    epss: Epss | None
    priority: Priority
    references: list[ReferenceLink]
    affected: list[AffectedRange]
    provenance: list[Provenance]


class SourceSays(BaseModel):
    source: str
    says: str
    detail: str


class MatchReason(BaseModel):
    basis: str
    text: str
    matched_range: AffectedRange | None
    confidence: str
    confirmed: bool
    tentative: bool
    tentative_reason: str | None
    disagreement: bool
    sources: list[SourceSays]


class CatalogMatch(BaseModel):
    cve_id: str
    verdict: str
    description: str
    reason: MatchReason
    cvss: CvssScore | None
    priority: Priority
    kev: bool
    epss: Epss | None


class FeedSource(BaseModel):
    source: str
    snapshot: str | None
    records: int
    last_import_id: str
    imported_at: str | None
    stale: bool


class CatalogMatches(BaseModel):
    product: str | None
    items: list[CatalogMatch]
    feeds: list[FeedSource]
    stale_after_days: float


class FeedStatus(BaseModel):
    sources: list[FeedSource]
    stale_after_days: float


StatusWord = Literal["open", "confirmed", "false_positive", "accepted_risk", "resolved", "reopened"]


class VulnerabilityUpdateRequest(Body):
    """Triage; only the fields given change. ``accepted_risk`` needs ``accepted_until`` and a ``note``."""

    status: StatusWord | None = None
    note: str = Field(default="", max_length=2_000, description="the reason of a status change, or a note")
    accepted_until: Instant | None = Field(default=None, description=f"with accepted_risk; {INSTANT}")
    assignee: str | None = Field(default=None, max_length=128, description='"" unassigns')

    @model_validator(mode="after")
    def something_to_change(self) -> VulnerabilityUpdateRequest:
        if self.status is None and self.assignee is None and not self.note.strip():
            raise ValueError("give at least one of status, note, assignee")
        return self


class Sighting(BaseModel):
    scan_id: str
    at: str | None


class HistoryEntry(BaseModel):
    kind: str
    actor: str
    from_value: str
    to_value: str
    note: str
    scan_id: str | None
    at: str | None


class VulnerabilitySummary(BaseModel):
    vulnerability_id: str
    fingerprint: str
    type: str
    title: str
    severity: str
    status: str
    priority: str
    confidence: str
    host: str
    port: int
    protocol: str
    service: str
    cpe: str
    cve: str | None
    rule_id: str | None
    cvss_score: float | None
    cvss_vector: str | None
    cwe: list[str]
    kev: bool
    epss: float | None
    first_seen: str | None
    last_seen: str | None
    first_scan_id: str
    last_scan_id: str
    sightings_total: int
    resolution: str | None
    resolved_scan_id: str | None
    accepted_until: str | None
    assignee: str | None
    updated_at: str | None


class VulnerabilityView(VulnerabilitySummary):
    description: str
    remediation: str
    references: list[str]
    evidence: dict[str, str]
    cve_details: CatalogEntry | None
    sightings: list[Sighting]
    history: list[HistoryEntry]


class VulnerabilityList(BaseModel):
    items: list[VulnerabilitySummary]
    total: int
    page: int
    per_page: int
    pages: int
    next_cursor: str | None


class VulnerabilityExport(BaseModel):
    """The JSON export (report-service): the records the filters chose, in the order asked."""

    generated_at: str | None
    sandbox: bool = Field(description="a test key's export: test records only")
    filters: dict[str, str] = Field(description="the filters that were set, as query parameters")
    sort: str
    order: Literal["desc", "asc"]
    count: int
    vulnerabilities: list[dict[str, Any]] = Field(
        description="the finding's fields (as in a scan's export) with vulnerability_id, priority, "
        "last_seen, first_scan_id, last_scan_id and sightings"
    )
