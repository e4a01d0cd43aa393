"""Request and response bodies of the threat-analysis operations (parsing and OpenAPI)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from rampart_gateway.inputs import Body

IndicatorType = Literal["url", "domain", "ip", "hash", "payload"]
Mode = Literal["quick", "deep", "sandbox"]
VerdictName = Literal["benign", "suspicious", "malicious", "unknown"]


class AnalyzeRequest(Body):
    """Seed 003: ``target`` (URL, domain, IP, MD5/SHA-1/SHA-256 hash or raw payload), ``mode``."""

    target: str = Field(min_length=1, max_length=60_000, examples=["hxxp://paypa1-login[.]example/verify"])
    type: IndicatorType | None = Field(default=None, description="the indicator type; detected when absent")
    mode: Mode = Field(default="quick", description="quick, deep, or sandbox (deep in a locked-down process)")
    metadata: dict[str, str] = Field(
        default_factory=dict, max_length=32, description="tags kept with the analysis"
    )


class Reason(BaseModel):
    signal: str
    weight: int
    evidence: str
    attack: list[str]


class ExtractedIndicator(BaseModel):
    type: str
    value: str
    defanged: str
    found_in: str


class FeedHitView(BaseModel):
    source: str
    kind: str
    value: str
    threat: str
    first_seen: str | None
    imported_at: str | None


class AssetMatchView(BaseModel):
    """A host of the organisation's own scan inventory the indicator names (by stored address or name)."""

    asset_id: str
    host: str
    open_ports: list[int]
    last_scan_id: str
    last_seen: str | None
    matched: str = Field(description="the indicator value that named the host")
    role: str = Field(description="the target, its registrable domain, found in a payload...")


class Analysis(BaseModel):
    analysis_id: str
    target: str
    type: str
    indicator_type: str
    normalized: str
    mode: str
    risk_score: int
    classification: VerdictName
    confidence: float
    reasons: list[Reason]
    recommended_actions: list[str]
    indicators: list[ExtractedIndicator]
    attack: list[str]
    feed_hits: list[FeedHitView]
    asset_matches: list[AssetMatchView]
    limits: list[str]
    metadata: dict[str, str]
    analyzed_at: str | None
    duration_ms: float


class AnalysisList(BaseModel):
    items: list[Analysis]
    next_cursor: str | None


ListName = Literal["allow", "deny"]


class ListEntryRequest(Body):
    """A value for the organisation's allow or deny list; its kind is detected."""

    list: ListName = Field(description="allow hides feed hits on the value; deny adds one and wins")
    value: str = Field(
        min_length=1,
        max_length=2048,
        description="address, CIDR, URL, domain (its subdomains too), MD5/SHA-1/SHA-256 or email",
        examples=["login-paypa1.example"],
    )
    note: str = Field(default="", max_length=200)


class ListEntry(BaseModel):
    entry_id: str
    list: ListName
    kind: str
    value: str
    note: str
    created_at: str | None


class ListEntries(BaseModel):
    items: list[ListEntry]


class ThreatFinding(BaseModel):
    type: str = Field(description="vulnerable_service, misconfiguration or exposure")
    severity: str
    details: str
    cve: str | None
    host: str
    port: int
    rule_id: str | None
    vulnerability_id: str = Field(description="GET /api/v1/vulnerabilities/{vulnerability_id}")


class ThreatScanResult(BaseModel):
    """Seed 004; 202 (with Location: the scan's results) while the findings are not final."""

    scan_id: str
    status: str
    threats_found: int
    findings: list[ThreatFinding]
    findings_settled: bool
    timestamp: str
