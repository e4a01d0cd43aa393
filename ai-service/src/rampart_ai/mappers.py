"""Between protobuf messages (ai, scan, threat) and the assistant's domain types."""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp

from rampart.ai.v1 import ai_pb2
from rampart.common.v1 import common_pb2
from rampart.scan.v1 import scan_pb2
from rampart.threat.v1 import threat_pb2
from rampart_ai.accounting import Accountant, Entry, Limits, Usage
from rampart_ai.domain import (
    Answer,
    Audience,
    Caller,
    Citation,
    CveFact,
    Explanation,
    IncidentFact,
    Level,
    PortFact,
    Report,
    ScanFacts,
    TlsFacts,
    VulnFact,
)
from rampart_ai.service import AskContext

SCAN_STATUS = {
    value: name.removeprefix("SCAN_STATUS_").lower().replace("timeout", "timed_out")
    for name, value in scan_pb2.ScanStatus.items()
}
PORT_STATE = {value: name.removeprefix("PORT_STATE_").lower() for name, value in scan_pb2.PortState.items()}
SEVERITY = {value: name.removeprefix("SEVERITY_").lower() for name, value in common_pb2.Severity.items()}
STATUS = {
    value: name.removeprefix("VULNERABILITY_STATUS_").lower()
    for name, value in threat_pb2.VulnerabilityStatus.items()
}
INCIDENT_STATUS = {
    value: name.removeprefix("INCIDENT_STATUS_").lower() for name, value in threat_pb2.IncidentStatus.items()
}
LEVELS = {
    ai_pb2.EXPLAIN_LEVEL_BEGINNER: Level.BEGINNER,
    ai_pb2.EXPLAIN_LEVEL_INTERMEDIATE: Level.INTERMEDIATE,
    ai_pb2.EXPLAIN_LEVEL_EXPERT: Level.EXPERT,
}
LEVEL_VALUES = {level: value for value, level in LEVELS.items()}
AUDIENCES = {
    ai_pb2.REPORT_TYPE_EXECUTIVE: Audience.EXECUTIVE,
    ai_pb2.REPORT_TYPE_TECHNICAL: Audience.TECHNICAL,
    ai_pb2.REPORT_TYPE_REMEDIATION: Audience.REMEDIATION,
}
AUDIENCE_VALUES = {audience: value for value, audience in AUDIENCES.items()}
OFFLINE = "offline"


# ---- requests and replies of AiService ----------------------------------------------------


def caller(owner: common_pb2.Owner) -> Caller:
    return Caller(owner.user_id, owner.org_id, owner.mode, owner.key_id, tuple(owner.scopes))


def owner(who: Caller) -> common_pb2.Owner:
    return common_pb2.Owner(
        user_id=who.user_id,
        org_id=who.org_id,
        mode=who.mode,  # type: ignore[arg-type]
        key_id=who.key_id,
        scopes=who.scopes,
    )


def ask_context(request: ai_pb2.AskRequest) -> AskContext:
    return AskContext(request.scan_id, request.vulnerability_id, request.asset, request.incident_id)


def level(value: int) -> Level:
    return next((lv for v, lv in LEVELS.items() if v == value), Level.INTERMEDIATE)


def audience(value: int) -> Audience:
    return next((a for v, a in AUDIENCES.items() if v == value), Audience.TECHNICAL)


def source(citation: Citation, label: int) -> ai_pb2.Source:
    return ai_pb2.Source(
        kind=citation.kind,
        ref=citation.ref,
        excerpt=citation.excerpt,
        label=str(label),
        scan_id=citation.scan_id,
        host=citation.host,
        port=citation.port,
        protocol=citation.protocol,
    )


def sources(citations: list[Citation] | tuple[Citation, ...]) -> list[ai_pb2.Source]:
    return [source(c, i) for i, c in enumerate(citations, 1)]


def limits(message: ai_pb2.AiLimits) -> Limits:
    return Limits(max(0, message.requests_per_day), max(0, message.tokens_per_day))


def _stamp(value: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(value)
    return stamp


def usage_reply(usage: Usage) -> ai_pb2.Usage:
    return ai_pb2.Usage(
        day=usage.day,
        requests_today=usage.requests,
        tokens_today=usage.tokens,
        resets_at=_stamp(usage.resets_at),
        history_entries=usage.history_entries,
    )


def history_entry(entry: Entry, expires_at: datetime) -> ai_pb2.HistoryEntry:
    return ai_pb2.HistoryEntry(
        history_id=entry.history_id,
        kind=entry.kind,
        question=entry.question,
        answer=entry.answer,
        sources=sources(entry.citations),
        provider=entry.provider,
        provider_tokens=entry.tokens,
        scan_id=entry.scan_id,
        key_id=entry.key_id,
        created_at=_stamp(entry.created_at),
        expires_at=_stamp(expires_at),
    )


def history_page(
    accountant: Accountant, entries: list[Entry], next_cursor: str, total: int, per_page: int
) -> ai_pb2.ListHistoryResponse:
    return ai_pb2.ListHistoryResponse(
        entries=[history_entry(e, accountant.expires_at(e)) for e in entries],
        page=common_pb2.PageInfo(total=total, per_page=per_page, next_cursor=next_cursor),
    )


def ask_reply(answer: Answer, history_id: str = "") -> ai_pb2.AskResponse:
    return ai_pb2.AskResponse(
        history_id=history_id,
        provider_tokens=answer.tokens,
        answer=answer.text,
        sources=sources(answer.citations),
        confidence=max(0, min(100, answer.confidence)),
        provider=answer.provider,
        intent=ai_pb2.Intent.Value(f"INTENT_{answer.intent.name}"),
        gaps=answer.gaps,
    )


def explain_reply(found: Explanation) -> ai_pb2.ExplainResponse:
    return ai_pb2.ExplainResponse(
        concept=found.concept,
        level=LEVEL_VALUES[found.level],
        explanation=found.text,
        related=[r.id for r in found.related],
        provider=OFFLINE,
        related_ids=[ai_pb2.RelatedId(id=r.id, kind=r.kind, name=r.name) for r in found.related],
        example=found.example,
        sources=sources(found.citations),
        found=found.found,
    )


def report_reply(report: Report) -> ai_pb2.GenerateReportResponse:
    return ai_pb2.GenerateReportResponse(
        scan_id=report.scan_id,
        report_type=AUDIENCE_VALUES[report.audience],
        sections=[
            ai_pb2.ReportSection(name=s.name, title=s.title, body=s.body, sources=sources(s.citations))
            for s in report.sections
        ],
        provider=OFFLINE,
        gaps=report.gaps,
    )


# ---- the owning services' messages as facts ------------------------------------------------


def _when(stamp: Timestamp) -> datetime | None:
    return stamp.ToDatetime(tzinfo=UTC) if stamp.seconds or stamp.nanos else None


def _tls(message: scan_pb2.PortResult) -> TlsFacts | None:
    if not message.HasField("tls"):
        return None
    tls, cert = message.tls, message.tls.certificate
    return TlsFacts(
        protocols=tuple(tls.protocols_accepted),
        negotiated_protocol=tls.negotiated_protocol,
        cipher=tls.negotiated_cipher,
        weaknesses=tuple(tls.weaknesses),
        self_signed=cert.self_signed,
        expired=cert.expired,
        hostname_mismatch=cert.hostname_mismatch,
        not_after=_when(cert.not_after),
        subject=cert.subject,
    )


def port_fact(scan_id: str, message: scan_pb2.PortResult) -> PortFact:
    service = message.service
    return PortFact(
        scan_id=scan_id,
        host=message.host,
        port=message.port,
        protocol=message.protocol or "tcp",
        state=PORT_STATE[message.state],
        service=service.name,
        product=service.product,
        version=service.version,
        cpe=service.cpe,
        banner=service.evidence,
        facts=tuple(sorted(service.facts.items())),
        tls=_tls(message),
    )


def scan_facts(scan: scan_pb2.Scan, results: scan_pb2.ScanResults | None = None) -> ScanFacts:
    counts = results.summary if results is not None else scan.counts
    ports = tuple(port_fact(scan.scan_id, p) for p in results.ports) if results is not None else ()
    hosts = tuple(h.host for h in results.hosts) if results is not None else ()
    return ScanFacts(
        scan_id=scan.scan_id,
        targets=tuple(scan.targets),
        status=SCAN_STATUS[scan.status],
        created_at=_when(scan.created_at),
        completed_at=_when(scan.completed_at),
        sandbox=scan.sandbox,
        ports=ports,
        hosts=hosts or tuple(dict.fromkeys(p.host for p in ports if p.state == "open")),
        counts=(counts.open, counts.closed, counts.filtered),
    )


def vuln_fact(message: threat_pb2.Vulnerability) -> VulnFact:
    return VulnFact(
        vulnerability_id=message.vulnerability_id,
        title=message.title,
        severity=SEVERITY[message.severity] if message.severity else "info",
        scan_id=message.last_scan_id,
        host=message.host,
        port=message.port,
        description=message.description,
        cve=message.cve,
        cvss=message.cvss_score,
        remediation=message.remediation,
        state=STATUS.get(message.status, "open") if message.status else "open",
        evidence="; ".join(f"{key}: {value}" for key, value in sorted(message.evidence.items())),
        cwe=tuple(message.cwe),
        rule_id=message.rule_id,
        kev=message.kev,
        epss=message.epss,
    )


def incident_fact(message: threat_pb2.Incident) -> IncidentFact:
    return IncidentFact(
        incident_id=message.incident_id,
        title=message.title,
        severity=SEVERITY[message.severity],
        status=INCIDENT_STATUS[message.status],
        description=message.description,
        affected_systems=tuple(message.affected_systems),
        related_findings=tuple(message.related_findings),
        priority=message.triage.priority,
        next_steps=tuple(message.triage.next_steps),
    )


def cve_fact(entry: threat_pb2.CatalogEntry) -> CveFact:
    return CveFact(
        cve_id=entry.cve_id,
        description=entry.description,
        score=entry.chosen.base_score,
        severity=entry.chosen.base_severity.lower(),
        kev=bool(entry.kev.date_added),
        epss=entry.epss.score,
        priority=entry.priority.priority,
        cwe=tuple(w.cwe_id for w in entry.weaknesses if w.cwe_id.startswith("CWE-")),
    )
