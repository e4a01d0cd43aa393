"""Parse one NVD CVE API 2.0 ``cve`` object into a :class:`CveRecord`."""

from __future__ import annotations

from typing import Any

from rampart_threat.knowledge.model import (
    ConfigNode,
    Configuration,
    CpeMatch,
    CveRecord,
    CvssMetric,
    Description,
    Origin,
    Reference,
    Weakness,
)

_METRIC_KEYS = {
    "cvssMetricV40": "4.0",
    "cvssMetricV31": "3.1",
    "cvssMetricV30": "3.0",
    "cvssMetricV2": "2.0",
}


class InvalidRecord(ValueError):
    """A feed record lacks what every record of its kind has."""


def parse_nvd_cve(obj: dict[str, Any]) -> CveRecord:
    """One NVD 2.0 ``cve`` object (a per-CVE file, or ``vulnerabilities[i]["cve"]``) to a record."""
    cve_id = obj.get("id")
    if not isinstance(cve_id, str) or not cve_id.startswith("CVE-"):
        raise InvalidRecord(f"NVD record without a CVE id: {str(cve_id)[:40]!r}")
    return CveRecord(
        id=cve_id,
        published=obj.get("published"),
        last_modified=obj.get("lastModified"),
        vuln_status=obj.get("vulnStatus"),
        source_identifier=obj.get("sourceIdentifier"),
        descriptions=tuple(
            Description(lang=d.get("lang", ""), value=d.get("value", "")) for d in obj.get("descriptions", ())
        ),
        metrics=_metrics(obj.get("metrics") or {}),
        weaknesses=tuple(
            Weakness(cwe_id=d["value"], source=w.get("source", ""), type=w.get("type", "Primary"))
            for w in obj.get("weaknesses", ())
            for d in w.get("description", ())
            if d.get("value")
        ),
        configurations=tuple(_configuration(c) for c in obj.get("configurations", ())),
        references=tuple(
            Reference(url=r["url"], source=r.get("source", ""), tags=tuple(r.get("tags", ())))
            for r in obj.get("references", ())
            if r.get("url")
        ),
    )


def _metrics(metrics: dict[str, Any]) -> tuple[CvssMetric, ...]:
    out: list[CvssMetric] = []
    for key, version in _METRIC_KEYS.items():
        for m in metrics.get(key, ()):
            data = m.get("cvssData") or {}
            score = data.get("baseScore")
            if score is None:
                continue
            # v2 keeps the severity beside cvssData, v3/v4 inside it.
            severity = data.get("baseSeverity") or m.get("baseSeverity") or ""
            out.append(
                CvssMetric(
                    version=str(data.get("version") or version),
                    vector=data.get("vectorString", ""),
                    base_score=float(score),
                    base_severity=str(severity).upper(),
                    source=m.get("source", ""),
                    type=m.get("type", "Secondary"),
                    origin=Origin.NVD,
                )
            )
    return tuple(out)


def _configuration(conf: dict[str, Any]) -> Configuration:
    return Configuration(
        operator=conf.get("operator"),
        negate=bool(conf.get("negate", False)),
        nodes=tuple(
            ConfigNode(
                operator=n.get("operator", "OR"),
                negate=bool(n.get("negate", False)),
                cpe_match=tuple(_cpe_match(m) for m in n.get("cpeMatch", ())),
            )
            for n in conf.get("nodes", ())
        ),
    )


def _cpe_match(m: dict[str, Any]) -> CpeMatch:
    return CpeMatch(
        vulnerable=bool(m.get("vulnerable", False)),
        criteria=m["criteria"],
        version_start_including=m.get("versionStartIncluding"),
        version_start_excluding=m.get("versionStartExcluding"),
        version_end_including=m.get("versionEndIncluding"),
        version_end_excluding=m.get("versionEndExcluding"),
        match_criteria_id=m.get("matchCriteriaId"),
    )
