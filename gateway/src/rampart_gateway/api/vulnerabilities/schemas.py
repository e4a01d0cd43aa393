"""Response bodies of the catalog operations (OpenAPI)."""

from __future__ import annotations

from pydantic import BaseModel


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
