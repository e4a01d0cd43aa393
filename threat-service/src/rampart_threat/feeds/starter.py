"""The shipped starter set (``data/starter.json``), turned into the shapes the feeds have.

Each record becomes an NVD CVE API 2.0 ``cve`` object (so the matcher parses it like any NVD
record), a KEV entry when flagged and an EPSS value; see ``data/README.md`` for the format.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from rampart_threat.feeds.domain import FeedFormatError
from rampart_threat.feeds.readers import parse_time

STARTER_PATH = Path(__file__).with_name("data") / "starter.json"
FORMAT = "rampart-starter/1"
STARTER_SOURCE = "rampart-starter"
METRIC_KEYS = {"4.0": "cvssMetricV40", "3.1": "cvssMetricV31", "3.0": "cvssMetricV30", "2.0": "cvssMetricV2"}


@dataclass(frozen=True)
class StarterRecord:
    cve_id: str
    nvd: dict[str, Any]
    kev: dict[str, Any] | None
    epss: dict[str, Any] | None


@dataclass(frozen=True)
class StarterSet:
    name: str
    snapshot: datetime
    records: list[StarterRecord]


def _metrics(cvss: dict[str, Any] | None) -> dict[str, Any]:
    if not cvss:
        return {}
    data = {"version": cvss["version"], "vectorString": cvss["vector"], "baseScore": cvss["score"]}
    metric: dict[str, Any] = {"source": cvss["source"], "type": "Primary", "cvssData": data}
    if cvss["version"] == "2.0":
        metric["baseSeverity"] = cvss["severity"]  # where NVD keeps it for v2
    else:
        data["baseSeverity"] = cvss["severity"]
    return {METRIC_KEYS[cvss["version"]]: [metric]}


def nvd_object(record: dict[str, Any]) -> dict[str, Any]:
    """A starter record as an NVD CVE API 2.0 ``cve`` object."""
    source = record["source"]
    return {
        "id": record["id"],
        "sourceIdentifier": STARTER_SOURCE,
        "published": record["published"],
        "lastModified": record["last_modified"],
        "vulnStatus": record.get("nvd_status", "Analyzed"),
        "descriptions": [{"lang": "en", "value": record["summary"]}],
        "metrics": _metrics(record.get("cvss")),
        "weaknesses": [
            {"source": STARTER_SOURCE, "type": "Primary", "description": [{"lang": "en", "value": cwe}]}
            for cwe in record.get("cwe", [])
        ],
        "configurations": record.get("configurations", []),
        "references": [
            {"url": source["nvd"], "source": STARTER_SOURCE},
            {"url": source["cve"], "source": STARTER_SOURCE},
        ],
    }


def _kev_entry(cve_id: str, kev: dict[str, Any] | None) -> dict[str, Any] | None:
    if not kev:
        return None
    return {
        "cveID": cve_id,
        "vulnerabilityName": kev["name"],
        "dateAdded": kev["date_added"],
        "dueDate": kev["due_date"],
        "knownRansomwareCampaignUse": kev["ransomware"],
    }


def load(path: Path = STARTER_PATH) -> StarterSet:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise FeedFormatError(f"{path.name}: not a readable starter set ({error})") from error
    if document.get("format") != FORMAT:
        raise FeedFormatError(f"{path.name}: format is not {FORMAT}")
    records = []
    for item in document["records"]:
        if not item.get("source", {}).get("nvd"):
            raise FeedFormatError(f"{path.name}: {item.get('id')} has no source")
        epss = item.get("epss")
        if epss:
            epss = {
                "score": epss["score"],
                "percentile": epss["percentile"],
                "date": parse_time(epss["date"]).isoformat(),
            }
        records.append(
            StarterRecord(item["id"], nvd_object(item), _kev_entry(item["id"], item.get("kev")), epss)
        )
    return StarterSet(document["format"], parse_time(document["snapshot"]), records)
