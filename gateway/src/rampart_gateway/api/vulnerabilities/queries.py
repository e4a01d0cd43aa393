"""Query parameters of the catalog and vulnerability operations."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import Field, model_validator

from rampart_gateway.inputs import INSTANT, Instant, Params, Whole


class CatalogQuery(Params):
    """A CPE 2.3 name, or a product and a version (the banner refines distribution builds)."""

    cpe: str | None = Field(
        default=None,
        min_length=8,
        max_length=512,
        pattern=r"^cpe:2\.3:",
        description="CPE 2.3 formatted string",
        examples=["cpe:2.3:a:openbsd:openssh:9.2:p1:*:*:*:*:*:*"],
    )
    product: str | None = Field(
        default=None,
        min_length=1,
        max_length=128,
        description='"vendor:product" or a product name',
        examples=["OpenSSH"],
    )
    version: str | None = Field(default=None, min_length=1, max_length=64, examples=["9.2p1"])
    banner: str = Field(
        default="",
        max_length=512,
        description="the service banner, e.g. SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3",
    )

    @model_validator(mode="after")
    def _cpe_or_product_and_version(self) -> Self:
        if self.cpe is None and (self.product is None or self.version is None):
            raise ValueError("give cpe, or product and version")
        return self


SEVERITY_WORD = "(info|low|medium|high|critical)"
STATUS_WORD = "(open|confirmed|false_positive|accepted_risk|resolved|reopened)"


class VulnerabilityFilters(Params):
    """The records' filters (all must match; a comma list matches any of its words) and sort: the
    list's and the export's."""

    severity: str = Field(
        default="",
        pattern=rf"^({SEVERITY_WORD}(,{SEVERITY_WORD})*)?$",
        description="one severity or a comma list: info, low, medium, high, critical",
        examples=["high,critical"],
    )
    status: str = Field(
        default="",
        pattern=rf"^({STATUS_WORD}(,{STATUS_WORD})*)?$",
        description="one status or a comma list of them (docs/findings-lifecycle.md)",
        examples=["open,reopened"],
    )
    kev: bool | None = Field(default=None, description="in CISA's Known Exploited Vulnerabilities catalogue")
    cve: str = Field(default="", pattern=r"^([Cc][Vv][Ee]-\d{4}-\d{4,19})?$", examples=["CVE-2024-6387"])
    host: str = Field(default="", max_length=255, description="the address as the scan reported it")
    port: Whole | None = Field(default=None, ge=1, le=65535)
    scan_id: str = Field(
        default="", max_length=64, pattern=r"^[A-Za-z0-9_-]*$", description="the records this scan saw"
    )
    type: Literal["vulnerable_service", "misconfiguration", "exposure"] | None = None
    first_seen_after: Instant | None = Field(default=None, description=f"first seen at or after; {INSTANT}")
    first_seen_before: Instant | None = Field(default=None, description=f"first seen before; {INSTANT}")
    sort: Literal["priority", "severity", "last_seen", "first_seen"] = "priority"
    order: Literal["desc", "asc"] = "desc"


class ListVulnerabilitiesQuery(VulnerabilityFilters):
    """The records' filters, sort and page."""

    page: Whole = Field(default=1, ge=1, le=100_000, description="1-based page number")
    per_page: Whole = Field(default=20, ge=1, le=100, description="items per page")
    cursor: str = Field(
        default="",
        max_length=512,
        pattern=r"^[A-Za-z0-9_-]*$",
        description="next_cursor from the previous page, with the same sort",
    )


class ExportVulnerabilitiesQuery(VulnerabilityFilters):
    """The records' filters and sort, and the file format (every matching record, up to a cap)."""

    format: Literal["json", "csv", "sarif", "html", "pdf"] = Field(
        default="json",
        description="json, csv (one row per record), sarif (SARIF 2.1.0), html (one self-contained page) "
        "or pdf; at most 10,000 records (2,000 for pdf), EXPORT_TOO_LARGE beyond; see docs/exports.md",
    )
