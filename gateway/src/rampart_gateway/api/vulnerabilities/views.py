"""Catalog and vulnerability replies as public JSON."""

from __future__ import annotations

from typing import Any

from rampart.common.v1 import common_pb2
from rampart.lib.enums import enum_word
from rampart.lib.ids import from_timestamp, iso
from rampart.threat.v1 import threat_pb2
from rampart_gateway.envelope import when

FEEDS = {value: name.removeprefix("FEED_KIND_").lower() for name, value in threat_pb2.FeedKind.items()}


def _text(value: str) -> str | None:
    return value or None


def _when(stamp: Any, present: bool) -> str | None:
    value = from_timestamp(stamp) if present else None
    return iso(value) if value else None


def score(m: threat_pb2.CvssScore) -> dict[str, Any]:
    return {
        "version": m.version,
        "vector": m.vector,
        "base_score": m.base_score,
        "base_severity": m.base_severity,
        "source": m.source,
        "type": m.type,
        "origin": m.origin,
    }


def epss(e: threat_pb2.EpssInfo) -> dict[str, Any]:
    return {"score": e.score, "percentile": e.percentile, "date": e.date}


def priority(p: threat_pb2.CatalogPriority) -> dict[str, Any]:
    return {
        "priority": p.priority,
        "exploitation": p.exploitation,
        "automatable": p.automatable,
        "technical_impact": p.technical_impact,
    }


def affected(a: threat_pb2.AffectedRange) -> dict[str, Any]:
    return {
        "origin": a.origin,
        "provider": _text(a.provider),
        "criteria": a.criteria,
        "vulnerable": a.vulnerable,
        "version": _text(a.version),
        "start_including": _text(a.start_including),
        "start_excluding": _text(a.start_excluding),
        "end_including": _text(a.end_including),
        "end_excluding": _text(a.end_excluding),
        "status": _text(a.status),
        "version_type": _text(a.version_type),
    }


def entry(reply: threat_pb2.CatalogEntry) -> dict[str, Any]:
    kev = reply.kev
    return {
        "cve_id": reply.cve_id,
        "description": reply.description,
        "published": _text(reply.published),
        "last_modified": _text(reply.last_modified),
        "vuln_status": _text(reply.vuln_status),
        "cvss": score(reply.chosen) if reply.HasField("chosen") else None,
        "scores": [score(m) for m in reply.scores],
        "cwe": [
            {"cwe_id": w.cwe_id, "name": _text(w.name), "source": w.source, "origin": w.origin}
            for w in reply.weaknesses
        ],
        "kev": {
            "date_added": kev.date_added,
            "due_date": _text(kev.due_date),
            "known_ransomware_campaign_use": kev.known_ransomware_campaign_use,
            "vulnerability_name": kev.vulnerability_name,
            "required_action": kev.required_action,
            "notes": kev.notes,
        }
        if reply.HasField("kev")
        else None,
        "epss": epss(reply.epss) if reply.HasField("epss") else None,
        "priority": priority(reply.priority),
        "references": [{"url": r.url, "source": r.source, "tags": list(r.tags)} for r in reply.references],
        "affected": [affected(a) for a in reply.affected],
        "provenance": [
            {
                "source": p.source,
                "import_id": p.import_id,
                "modified": p.modified,
                "feed": FEEDS[p.feed],
                "stale": p.stale,
            }
            for p in reply.provenance
        ],
    }


def feed_source(s: threat_pb2.FeedSource) -> dict[str, Any]:
    return {
        "source": FEEDS[s.kind],
        "snapshot": _when(s.snapshot, s.HasField("snapshot")),
        "records": s.records,
        "last_import_id": s.last_import_id,
        "imported_at": _when(s.imported_at, s.HasField("imported_at")),
        "stale": s.stale,
    }


def match(m: threat_pb2.CatalogMatch) -> dict[str, Any]:
    return {
        "cve_id": m.cve_id,
        "verdict": m.verdict,
        "description": m.description,
        "reason": {
            "basis": m.basis,
            "text": m.reason,
            "matched_range": affected(m.matched_range) if m.HasField("matched_range") else None,
            "confidence": m.confidence,
            "confirmed": m.confirmed,
            "tentative": m.tentative,
            "tentative_reason": _text(m.tentative_reason),
            "disagreement": m.disagreement,
            "sources": [{"source": s.source, "says": s.says, "detail": s.detail} for s in m.sources],
        },
        "cvss": score(m.severity) if m.HasField("severity") else None,
        "priority": priority(m.priority),
        "kev": m.kev,
        "epss": epss(m.epss) if m.HasField("epss") else None,
    }


def matches(reply: threat_pb2.CatalogMatches) -> dict[str, Any]:
    return {
        "product": _text(reply.product_key),
        "items": [match(m) for m in reply.matches],
        "feeds": [feed_source(s) for s in reply.sources],
        "stale_after_days": reply.stale_after_days,
    }


def feed_status(reply: threat_pb2.FeedStatus) -> dict[str, Any]:
    return {
        "sources": [feed_source(s) for s in reply.sources],
        "stale_after_days": reply.stale_after_days,
    }


def vulnerability_summary(v: threat_pb2.Vulnerability) -> dict[str, Any]:
    """A record as listed: what it is, where, how bad, where it stands."""
    return {
        "vulnerability_id": v.vulnerability_id,
        "fingerprint": v.fingerprint,
        "type": enum_word(threat_pb2.VulnerabilityType, v.type),
        "title": v.title,
        "severity": enum_word(common_pb2.Severity, v.severity),
        "status": enum_word(threat_pb2.VulnerabilityStatus, v.status),
        "priority": v.priority,
        "confidence": v.confidence,
        "host": v.host,
        "port": v.port,
        "protocol": v.protocol,
        "service": v.service,
        "cpe": v.cpe,
        "cve": _text(v.cve),
        "rule_id": _text(v.rule_id),
        "cvss_score": v.cvss_score if v.HasField("cvss_score") else None,
        "cvss_vector": _text(v.cvss_vector),
        "cwe": list(v.cwe),
        "kev": v.kev,
        "epss": v.epss if v.HasField("epss") else None,
        "first_seen": when(v.first_seen),
        "last_seen": when(v.last_seen),
        "first_scan_id": v.first_scan_id,
        "last_scan_id": v.last_scan_id,
        "sightings_total": v.sightings_total,
        "resolution": _text(v.resolution),
        "resolved_scan_id": _text(v.resolved_scan_id),
        "accepted_until": when(v.accepted_until),
        "assignee": _text(v.assignee),
        "updated_at": when(v.updated_at),
    }


def vulnerability(v: threat_pb2.Vulnerability) -> dict[str, Any]:
    """The whole record: evidence, CVE details, remediation, references, sightings and history."""
    return {
        **vulnerability_summary(v),
        "description": v.description,
        "remediation": v.remediation,
        "references": list(v.references),
        "evidence": dict(v.evidence),
        "cve_details": entry(v.cve_details) if v.HasField("cve_details") else None,
        "sightings": [{"scan_id": s.scan_id, "at": when(s.at)} for s in v.sightings],
        "history": [
            {
                "kind": enum_word(threat_pb2.VulnerabilityChangeKind, h.kind),
                "actor": h.actor,
                "from_value": h.from_value,
                "to_value": h.to_value,
                "note": h.note,
                "scan_id": _text(h.scan_id),
                "at": when(h.at),
            }
            for h in v.history
        ],
    }


def vulnerability_page(reply: threat_pb2.ListVulnerabilitiesResponse) -> dict[str, Any]:
    info = reply.page
    return {
        "items": [vulnerability_summary(v) for v in reply.vulnerabilities],
        "total": info.total,
        "page": info.page,
        "per_page": info.per_page,
        "pages": info.pages,
        "next_cursor": info.next_cursor or None,
    }
