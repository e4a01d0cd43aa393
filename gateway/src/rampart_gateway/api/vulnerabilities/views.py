"""Catalog replies as public JSON."""

from __future__ import annotations

from typing import Any

from rampart.lib.ids import from_timestamp, iso
from rampart.threat.v1 import threat_pb2

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
