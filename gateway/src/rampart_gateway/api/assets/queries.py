"""Query parameters of the asset listing: they parse requests and document them."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from rampart_gateway.inputs import INSTANT, Instant, Params, Whole

SeverityWord = Literal["info", "low", "medium", "high", "critical"]


class ListAssetsQuery(Params):
    host: str = Field(default="", max_length=255, description="contained in the address or one of its names")
    port: Whole | None = Field(default=None, ge=1, le=65535, description="open now")
    service: str = Field(default="", max_length=64, description="detected on an open port now (e.g. ssh)")
    os: str = Field(default="", max_length=64, description="contained in the OS hint (e.g. debian)")
    has_findings: bool | None = Field(
        default=None, description="with (true) or without (false) open findings"
    )
    severity: SeverityWord | None = Field(default=None, description="an open finding at least this severe")
    seen_after: Instant | None = Field(default=None, description=f"last seen at or after; {INSTANT}")
    seen_before: Instant | None = Field(default=None, description=f"last seen before; {INSTANT}")
    sort: Literal["last_seen", "first_seen", "host", "findings"] = Field(
        default="last_seen", description="findings: most critical first (with order=desc), then high, ..."
    )
    order: Literal["desc", "asc"] = "desc"
    page: Whole = Field(default=1, ge=1, le=100_000, description="1-based page number")
    per_page: Whole = Field(default=20, ge=1, le=100, description="items per page")
    cursor: str = Field(
        default="",
        max_length=512,
        pattern=r"^[A-Za-z0-9_-]*$",
        description="next_cursor from the previous page (takes the place of page)",
    )
