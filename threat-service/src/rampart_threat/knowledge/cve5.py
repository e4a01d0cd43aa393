"""Parse one CVE JSON 5 record: CNA and ADP affected data, ADP metrics, CWE and SSVC."""

from __future__ import annotations

from typing import Any

from rampart_threat.knowledge.model import (
    Affected,
    AffectedVersion,
    Cve5Record,
    CvssMetric,
    Description,
    Origin,
    Reference,
    Ssvc,
    VersionChange,
    Weakness,
)
from rampart_threat.knowledge.nvd import InvalidRecord

_CVSS_KEYS = {"cvssV4_0": "4.0", "cvssV3_1": "3.1", "cvssV3_0": "3.0", "cvssV2_0": "2.0"}


def parse_cve5(obj: dict[str, Any]) -> Cve5Record:
    """One CVE JSON 5 record (as in cvelistV5) to the parts the knowledge base keeps."""
    meta = obj.get("cveMetadata") or {}
    cve_id = meta.get("cveId")
    if not isinstance(cve_id, str) or not cve_id.startswith("CVE-"):
        raise InvalidRecord(f"CVE 5 record without cveMetadata.cveId: {str(cve_id)[:40]!r}")
    containers = obj.get("containers") or {}
    cna = containers.get("cna") or {}
    adps = containers.get("adp") or []
    affected: list[Affected] = []
    metrics: list[CvssMetric] = []
    weaknesses: list[Weakness] = []
    ssvc: list[Ssvc] = []
    references: list[Reference] = []
    for origin, container in [(Origin.CNA, cna)] + [(Origin.ADP, a) for a in adps]:
        provider_meta = container.get("providerMetadata") or {}
        provider = provider_meta.get("shortName") or meta.get("assignerShortName", "")
        affected += [_affected(origin, provider, a) for a in container.get("affected", ())]
        m, s = _metrics(origin, provider, container.get("metrics", ()))
        metrics += m
        ssvc += s
        weaknesses += [
            Weakness(cwe_id=d["cweId"], source=provider, type="Secondary", origin=origin)
            for p in container.get("problemTypes", ())
            for d in p.get("descriptions", ())
            if d.get("cweId")
        ]
        references += [
            Reference(url=r["url"], source=provider, tags=tuple(r.get("tags", ())))
            for r in container.get("references", ())
            if r.get("url")
        ]
    return Cve5Record(
        cve_id=cve_id,
        assigner=meta.get("assignerShortName", ""),
        state=meta.get("state", ""),
        date_updated=meta.get("dateUpdated"),
        descriptions=tuple(
            Description(lang=d.get("lang", ""), value=d.get("value", "")) for d in cna.get("descriptions", ())
        ),
        affected=tuple(affected),
        metrics=tuple(metrics),
        weaknesses=tuple(weaknesses),
        ssvc=tuple(ssvc),
        references=tuple(references),
    )


def _affected(origin: Origin, provider: str, a: dict[str, Any]) -> Affected:
    return Affected(
        origin=origin,
        provider=provider,
        vendor=str(a.get("vendor", "")),
        product=str(a.get("product", "")),
        default_status=a.get("defaultStatus"),
        versions=tuple(
            AffectedVersion(
                version=str(v.get("version", "")),
                status=str(v.get("status", "unknown")),
                version_type=v.get("versionType"),
                less_than=v.get("lessThan"),
                less_than_or_equal=v.get("lessThanOrEqual"),
                changes=tuple(
                    VersionChange(at=str(c.get("at", "")), status=str(c.get("status", "")))
                    for c in v.get("changes", ())
                ),
            )
            for v in a.get("versions", ())
        ),
        cpes=tuple(str(c) for c in a.get("cpes", ())),
        package_name=a.get("packageName"),
        collection_url=a.get("collectionURL"),
    )


def _metrics(origin: Origin, provider: str, entries: Any) -> tuple[list[CvssMetric], list[Ssvc]]:
    metrics: list[CvssMetric] = []
    ssvc: list[Ssvc] = []
    for entry in entries:
        for key, version in _CVSS_KEYS.items():
            data = entry.get(key)
            if data and data.get("baseScore") is not None:
                metrics.append(
                    CvssMetric(
                        version=str(data.get("version") or version),
                        vector=data.get("vectorString", ""),
                        base_score=float(data["baseScore"]),
                        base_severity=str(data.get("baseSeverity", "")).upper(),
                        source=provider,
                        type="Secondary",
                        origin=origin,
                    )
                )
        other = entry.get("other") or {}
        if other.get("type") == "ssvc":
            ssvc.append(_ssvc(provider, other.get("content") or {}))
    return metrics, ssvc


def _ssvc(provider: str, content: dict[str, Any]) -> Ssvc:
    options: dict[str, str] = {}
    for option in content.get("options", ()):
        for k, v in option.items():
            options[k.lower()] = str(v).lower()
    return Ssvc(
        exploitation=options.get("exploitation"),
        automatable=options.get("automatable"),
        technical_impact=options.get("technical impact"),
        provider=provider,
        timestamp=content.get("timestamp"),
        version=content.get("version"),
    )
