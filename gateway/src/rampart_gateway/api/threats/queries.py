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


class ThreatScanQuery(Params):
    target_ip: str = Field(min_length=1, max_length=255, description="an address, CIDR or name in your scope")
    depth: Literal["quick", "standard", "deep"] = Field(
        default="standard",
        description="quick: top-100 ports, fast; standard: the compliance profile; deep: the pentest profile",
    )
    include_vulns: bool = Field(
        default=True, description="list CVEs of detected services (vulnerable_service)"
    )
    wait: Whole = Field(default=30, ge=0, le=120, description="seconds to wait for the findings to settle")
