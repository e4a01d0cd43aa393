"""Query and header parameters of the scan operations: they parse requests and document them."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from rampart_gateway.inputs import EVENT_ID, INSTANT, Credential, EventId, Instant, Params, Whole


class ListScansQuery(Params):
    target: str = Field(default="", max_length=255, description="scans of this target")
    status: Literal["queued", "running", "completed", "failed", "cancelled", "timeout"] | None = None
    created_after: Instant | None = Field(default=None, description=f"created at or after; {INSTANT}")
    created_before: Instant | None = Field(default=None, description=f"created before; {INSTANT}")
    sort: Literal["created_at", "status", "completed_at"] = "created_at"
    order: Literal["desc", "asc"] = "desc"
    page: Whole = Field(default=1, ge=1, le=100_000, description="1-based page number")
    per_page: Whole = Field(default=20, ge=1, le=100, description="items per page")
    cursor: str = Field(
        default="",
        max_length=512,
        pattern=r"^[A-Za-z0-9_-]*$",
        description="next_cursor from the previous page (created_at order only)",
    )


class ExportQuery(Params):
    format: Literal["json", "csv", "sarif", "html", "pdf"] = Field(
        default="json",
        description="json (scan, ports, findings), csv, sarif (SARIF 2.1.0), html (one self-contained "
        "page) or pdf; see docs/exports.md",
    )
    kind: Literal["ports", "findings"] = Field(
        default="ports", description="csv only: one row per port or one row per finding"
    )


class StreamQuery(Params):
    api_key: Credential | None = Field(default=None, description="for browsers; prefer ticket")
    ticket: Credential | None = Field(default=None, description="single-use stream ticket")
    last_event_id: EventId | None = Field(default=None, description=EVENT_ID)


class StreamHeaders(Params):
    last_event_id: EventId | None = Field(default=None, alias="Last-Event-ID", description=EVENT_ID)
