"""ThreatAnalysis replies as public JSON."""

from __future__ import annotations

from typing import Any

from rampart.lib.ids import from_timestamp, iso
from rampart.threat.v1 import threat_pb2

KINDS = {
    value: name.removeprefix("INDICATOR_KIND_").lower() for name, value in threat_pb2.IndicatorKind.items()
}
MODES = {
    value: name.removeprefix("ANALYSIS_MODE_").lower() for name, value in threat_pb2.AnalysisMode.items()
}
VERDICTS = {value: name.removeprefix("VERDICT_").lower() for name, value in threat_pb2.Verdict.items()}


def _when(stamp: Any, present: bool) -> str | None:
    value = from_timestamp(stamp) if present else None
    return iso(value) if value else None


def analysis(reply: threat_pb2.ThreatAnalysis) -> dict[str, Any]:
    return {
        "analysis_id": reply.analysis_id,
        "target": reply.target,
        "type": KINDS[reply.kind],
        "indicator_type": reply.indicator_type,
        "normalized": reply.normalized,
        "mode": MODES[reply.mode],
        "risk_score": reply.risk_score,
        "classification": VERDICTS[reply.verdict],
        "confidence": reply.confidence,
        "reasons": [
            {"signal": r.signal, "weight": r.weight, "evidence": r.evidence, "attack": list(r.attack)}
            for r in reply.reasons
        ],
        "recommended_actions": list(reply.recommendations),
        "indicators": [
            {
                "type": i.type,
                "value": i.value,
                "defanged": i.defanged,
                "found_in": i.description.removeprefix("found in "),
            }
            for i in reply.indicators
        ],
        "attack": list(reply.attack),
        "feed_hits": [
            {
                "source": h.source,
                "kind": h.kind,
                "value": h.value,
                "threat": h.threat,
                "first_seen": _when(h.first_seen, h.HasField("first_seen")),
                "imported_at": _when(h.imported_at, h.HasField("imported_at")),
            }
            for h in reply.feed_hits
        ],
        "asset_matches": [
            {
                "asset_id": m.asset_id,
                "host": m.host,
                "open_ports": list(m.open_ports),
                "last_scan_id": m.last_scan_id,
                "last_seen": _when(m.last_seen, m.HasField("last_seen")),
                "matched": m.matched,
                "role": m.role,
            }
            for m in reply.asset_matches
        ],
        "limits": list(reply.limits),
        "metadata": dict(reply.metadata),
        "analyzed_at": _when(reply.analyzed_at, reply.HasField("analyzed_at")),
        "duration_ms": round(reply.duration_us / 1000, 3),
    }


def page(reply: threat_pb2.ListAnalysesResponse) -> dict[str, Any]:
    return {"items": [analysis(a) for a in reply.analyses], "next_cursor": reply.next_page_token or None}


def list_entry(reply: threat_pb2.IndicatorListEntry) -> dict[str, Any]:
    return {
        "entry_id": reply.entry_id,
        "list": reply.list,
        "kind": reply.kind,
        "value": reply.value,
        "note": reply.note,
        "created_at": _when(reply.created_at, reply.HasField("created_at")),
    }


def list_entries(reply: threat_pb2.ListIndicatorListEntriesResponse) -> dict[str, Any]:
    return {"items": [list_entry(e) for e in reply.entries]}
