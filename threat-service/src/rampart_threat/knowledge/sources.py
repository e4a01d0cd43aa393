"""Parse one CISA KEV catalogue entry and one FIRST EPSS row."""

from __future__ import annotations

import re
from typing import Any

from rampart_threat.knowledge.model import EpssScore, KevEntry
from rampart_threat.knowledge.nvd import InvalidRecord

_EPSS_HEADER = re.compile(r"model_version:(?P<model>[^,]*),score_date:(?P<date>\d{4}-\d{2}-\d{2})")


def parse_kev_entry(obj: dict[str, Any], catalog_version: str | None = None) -> KevEntry:
    """One element of the KEV catalogue's ``vulnerabilities`` list."""
    cve_id = obj.get("cveID")
    if not isinstance(cve_id, str) or not cve_id.startswith("CVE-"):
        raise InvalidRecord(f"KEV entry without cveID: {str(cve_id)[:40]!r}")
    return KevEntry(
        cve_id=cve_id,
        date_added=str(obj.get("dateAdded", "")),
        due_date=obj.get("dueDate"),
        known_ransomware_campaign_use=str(obj.get("knownRansomwareCampaignUse", "Unknown")),
        vendor_project=str(obj.get("vendorProject", "")),
        product=str(obj.get("product", "")),
        vulnerability_name=str(obj.get("vulnerabilityName", "")),
        required_action=str(obj.get("requiredAction", "")),
        notes=str(obj.get("notes", "")),
        cwes=tuple(str(c) for c in obj.get("cwes", ())),
        catalog_version=catalog_version,
    )


def parse_epss_header(line: str) -> tuple[str | None, str | None]:
    """``#model_version:v2026.06.15,score_date:2026-09-29T12:00:22Z`` -> (model version, score date)."""
    m = _EPSS_HEADER.search(line)
    return (m["model"], m["date"]) if m else (None, None)


def parse_epss_row(
    cve_id: str, epss: str, percentile: str, score_date: str, model_version: str | None = None
) -> EpssScore:
    """One data row of the EPSS CSV (``cve,epss,percentile``)."""
    if not cve_id.startswith("CVE-"):
        raise InvalidRecord(f"EPSS row without a CVE id: {cve_id[:40]!r}")
    return EpssScore(
        cve_id=cve_id,
        score=float(epss),
        percentile=float(percentile),
        date=score_date,
        model_version=model_version,
    )
