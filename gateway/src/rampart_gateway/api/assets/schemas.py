"""Response bodies of the asset operations; the OpenAPI schemas come from these."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ServiceView(BaseModel):
    name: str
    product: str
    version: str
    cpe: str
    tls: bool


class PortView(BaseModel):
    port: int
    protocol: str
    state: str = Field(description="open or closed")
    since: str | None = Field(description="opened at (open) or closed at (closed)")
    first_seen: str | None
    last_seen: str | None
    last_scan_id: str
    service: ServiceView | None


class PortChangeView(BaseModel):
    at: str | None
    scan_id: str
    port: int
    protocol: str
    change: str = Field(description="opened, closed or service (the service on the port changed)")
    before: str
    after: str


class OsHintView(BaseModel):
    name: str | None = Field(description="null when no service gave a clue")
    confidence: int
    evidence: list[str]


class ScanSeenView(BaseModel):
    scan_id: str
    at: str | None


class FindingCounts(BaseModel):
    total: int
    critical: int
    high: int
    medium: int
    low: int
    info: int


class AssetView(BaseModel):
    asset_id: str
    host: str
    addresses: list[str]
    names: list[str] = Field(description="names its TLS certificates present (not resolved)")
    open_ports: list[PortView]
    services: list[str]
    os: OsHintView
    findings: FindingCounts = Field(description="open findings by severity")
    first_seen: str | None
    last_seen: str | None
    scans: list[ScanSeenView] = Field(description="the most recent scans that covered it, newest first")
    sandbox: bool = Field(description="kept from test-key scans (only test keys see it)")


class AssetDetail(AssetView):
    closed_ports: list[PortView]
    history: list[PortChangeView] = Field(
        description="port and service changes, oldest first (the latest 200)"
    )


class AssetList(BaseModel):
    items: list[AssetView]
    total: int
    page: int = Field(description="0 when the page was reached by cursor")
    per_page: int
    pages: int
    next_cursor: str | None
