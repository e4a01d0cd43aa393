"""Request and response bodies of the report operations; the OpenAPI schemas come from these."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from rampart_gateway.inputs import INSTANT, Body, Instant, Params, Whole

ReportTypeName = Literal["executive", "technical", "remediation", "compliance", "diff"]
FormatName = Literal["pdf", "html", "json", "csv", "sarif"]
StatusName = Literal["pending", "running", "ready", "failed"]
ScanId = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")


class ReportPeriod(Body):
    """Either ``from`` (and ``to``, default now) or ``last_days``; at most 366 days."""

    from_: Instant | None = Field(default=None, alias="from", description=INSTANT)
    to: Instant | None = Field(default=None, description=INSTANT + "; default now")
    last_days: int | None = Field(default=None, ge=1, le=366, description="the last N days up to now")


class ReportCreateRequest(Body):
    type: ReportTypeName = Field(
        description="what the report covers; diff: what changed between two scans (docs/reports.md)"
    )
    scan_ids: list[str] = Field(
        default_factory=list,
        max_length=20,
        description="the scans it covers (1-20; diff: 2, or 1 compared with the previous completed scan of "
        "its targets; none for compliance, or with assets)",
    )
    assets: list[str] = Field(
        default_factory=list,
        max_length=50,
        description="instead of scan_ids: asset ids (asset_...), IP addresses, CIDRs or host names; the "
        "report covers the completed scans of these assets in `period` and shows only their hosts",
    )
    period: ReportPeriod | None = Field(
        default=None, description="with assets: which scans (by creation time); default the last 30 days"
    )
    frameworks: list[str] = Field(
        default_factory=list,
        max_length=8,
        description="compliance only: soc2, iso27001, hipaa, gdpr, pci-dss; none: all",
    )
    format: FormatName = "pdf"
    include_sections: list[str] = Field(
        default_factory=list,
        max_length=16,
        description="sections to include (docs/reports.md lists each type's); none: all of the type's",
    )
    title: str = Field(default="", max_length=200)


class ReportListQuery(Params):
    per_page: Whole = Field(default=20, ge=1, le=100, description="items per page")
    cursor: str = Field(
        default="", max_length=32, pattern=r"^[0-9]*$", description="next_cursor from the previous page"
    )
    type: ReportTypeName | None = None
    status: StatusName | None = None
    scan_id: str | None = Field(default=None, max_length=64, description="reports covering this scan")


class DownloadHeaders(Params):
    range: str | None = Field(default=None, alias="Range", max_length=200, description="bytes=first-last")
    if_none_match: str | None = Field(default=None, alias="If-None-Match", max_length=1000)
    if_range: str | None = Field(default=None, alias="If-Range", max_length=200)


class SectionView(BaseModel):
    name: str
    status: Literal["pending", "included", "unavailable"]
    note: str = Field(description="why unavailable, or what stands in for it")
    source: str = Field(description="assistant, summary, scan, ...")


class ReportView(BaseModel):
    report_id: str
    title: str
    type: str
    format: str
    status: StatusName
    progress: int = Field(description="0-100")
    scan_ids: list[str]
    assets: list[str] | None = Field(description="the assets asked for (a report over assets), else null")
    period: dict[str, str | None] | None = Field(description="`from` and `to` of a report over assets")
    sections: list[SectionView]
    size_bytes: int | None
    sha256: str | None = Field(description="of the file, hex; its ETag")
    filename: str | None
    content_type: str | None
    sandbox: bool = Field(description="made with a test key, of sandbox scans only")
    error: str | None
    created_at: str | None
    ready_at: str | None
    expires_at: str | None = Field(description="the report and its file are removed then (plan's retention)")
    links: dict[str, str]


class ReportList(BaseModel):
    items: list[ReportView]
    per_page: int
    next_cursor: str | None


class ReportDeleted(BaseModel):
    report_id: str
    deleted: bool
