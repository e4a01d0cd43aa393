"""Between the analysis RPCs' protobuf messages and the analysis domain."""

from __future__ import annotations

from rampart.lib.ids import to_timestamp
from rampart.threat.v1 import threat_pb2
from rampart_threat.analysis.domain import Analysis, Kind, Mode, Verdict
from rampart_threat.analysis.repository import AnalysisPage
from rampart_threat.analysis.service import AnalyzeRequest

KINDS = {
    threat_pb2.INDICATOR_KIND_URL: Kind.URL,
    threat_pb2.INDICATOR_KIND_DOMAIN: Kind.DOMAIN,
    threat_pb2.INDICATOR_KIND_IP: Kind.IP,
    threat_pb2.INDICATOR_KIND_HASH: Kind.HASH,
    threat_pb2.INDICATOR_KIND_PAYLOAD: Kind.PAYLOAD,
}
KIND_MESSAGES = {kind: value for value, kind in KINDS.items()}
MODES = {
    threat_pb2.ANALYSIS_MODE_UNSPECIFIED: Mode.QUICK,
    threat_pb2.ANALYSIS_MODE_QUICK: Mode.QUICK,
    threat_pb2.ANALYSIS_MODE_DEEP: Mode.DEEP,
    threat_pb2.ANALYSIS_MODE_SANDBOX: Mode.SANDBOX,
}
MODE_MESSAGES = {
    Mode.QUICK: threat_pb2.ANALYSIS_MODE_QUICK,
    Mode.DEEP: threat_pb2.ANALYSIS_MODE_DEEP,
    Mode.SANDBOX: threat_pb2.ANALYSIS_MODE_SANDBOX,
}
VERDICTS = {
    threat_pb2.VERDICT_BENIGN: Verdict.BENIGN,
    threat_pb2.VERDICT_SUSPICIOUS: Verdict.SUSPICIOUS,
    threat_pb2.VERDICT_MALICIOUS: Verdict.MALICIOUS,
    threat_pb2.VERDICT_UNKNOWN: Verdict.UNKNOWN,
}
VERDICT_MESSAGES = {verdict: value for value, verdict in VERDICTS.items()}


def analyze_request(request: threat_pb2.AnalyzeThreatRequest) -> AnalyzeRequest:
    return AnalyzeRequest(
        org_id=request.owner.org_id,
        user_id=request.owner.user_id,
        target=request.target,
        kind=KINDS.get(request.kind),
        mode=MODES.get(request.mode, Mode.QUICK),
        metadata=dict(request.metadata),
    )


def verdict_filter(value: int) -> Verdict | None:
    return next((verdict for number, verdict in VERDICTS.items() if number == value), None)


def analysis_message(analysis: Analysis) -> threat_pb2.ThreatAnalysis:
    return threat_pb2.ThreatAnalysis(
        analysis_id=analysis.analysis_id,
        target=analysis.target.raw,
        kind=KIND_MESSAGES[analysis.target.kind],
        risk_score=analysis.risk_score,
        classification=analysis.verdict.value,
        indicators=[
            threat_pb2.Indicator(
                type=e.type, description=f"found in {e.where}", value=e.value, defanged=e.defanged
            )
            for e in analysis.extracted
        ],
        recommendations=list(analysis.recommended_actions),
        metadata=analysis.metadata,
        analyzed_at=to_timestamp(analysis.analyzed_at),
        indicator_type=analysis.target.subtype,
        normalized=analysis.target.normalized,
        verdict=VERDICT_MESSAGES[analysis.verdict],
        confidence=analysis.confidence,
        reasons=[
            threat_pb2.AnalysisReason(
                signal=r.signal, weight=r.weight, evidence=r.evidence, attack=list(r.attack)
            )
            for r in analysis.reasons
        ],
        attack=analysis.attack(),
        feed_hits=[
            threat_pb2.FeedHit(
                source=h.source,
                kind=h.kind,
                value=h.value,
                threat=h.threat,
                first_seen=to_timestamp(h.first_seen),
                imported_at=to_timestamp(h.imported_at),
            )
            for h in analysis.feed_hits
        ],
        mode=MODE_MESSAGES[analysis.mode],
        limits=list(analysis.limits),
        duration_us=analysis.duration_us,
        asset_matches=[
            threat_pb2.AssetMatch(
                asset_id=m.asset_id,
                host=m.host,
                open_ports=list(m.open_ports),
                last_scan_id=m.last_scan_id,
                last_seen=to_timestamp(m.last_seen),
                matched=m.matched,
                role=m.role,
            )
            for m in analysis.asset_matches
        ],
    )


def page_message(page: AnalysisPage) -> threat_pb2.ListAnalysesResponse:
    return threat_pb2.ListAnalysesResponse(
        analyses=[analysis_message(a) for a in page.analyses], next_page_token=page.next_page_token
    )
