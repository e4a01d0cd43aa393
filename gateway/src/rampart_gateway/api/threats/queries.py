"""Query parameters of the threat-analysis operations."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from rampart_gateway.inputs import Params, Whole


class ListAnalysesQuery(Params):
    classification: Literal["benign", "suspicious", "malicious", "unknown"] | None = None
    per_page: Whole = Field(default=20, ge=1, le=100, description="items per page")
    cursor: str = Field(
        default="", max_length=19, pattern=r"^[0-9]*$", description="next_cursor from the previous page"
    )


class ListEntriesQuery(Params):
    list: Literal["allow", "deny"] | None = Field(default=None, description="one list; both when absent")
