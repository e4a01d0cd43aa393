"""Query parameters of the incident listing: they parse requests and document them."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from rampart_gateway.api.incidents.schemas import SeverityWord, StatusWord
from rampart_gateway.inputs import INSTANT, Instant, Params, Whole


class ListIncidentsQuery(Params):
    status: StatusWord | None = None
    severity: SeverityWord | None = None
    assignee: str = Field(default="", max_length=128)
    created_after: Instant | None = Field(default=None, description=f"created at or after; {INSTANT}")
    created_before: Instant | None = Field(default=None, description=f"created before; {INSTANT}")
    sort: Literal["created_at", "severity", "status", "due_at"] = "created_at"
    order: Literal["desc", "asc"] = "desc"
    per_page: Whole = Field(default=20, ge=1, le=100, description="items per page")
    cursor: str = Field(
        default="",
        max_length=512,
        pattern=r"^[A-Za-z0-9_-]*$",
        description="next_cursor from the previous page",
    )
