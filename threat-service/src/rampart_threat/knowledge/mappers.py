"""Between the catalog RPCs' protobuf messages and the knowledge domain types."""

from __future__ import annotations

from rampart.threat.v1 import threat_pb2
from rampart_threat.feeds.mappers import KIND_TO_PROTO, status_message
from rampart_threat.knowledge.matcher import Query
from rampart_threat.knowledge.model import Affected, CpeMatch, CveRecord, CvssMetric, EpssScore
from rampart_threat.knowledge.service import CatalogEntry, CatalogMatches
from rampart_threat.knowledge.severity import Assessment


def match_query(request: threat_pb2.MatchCatalogRequest) -> Query:
    return Query(
        cpe=request.cpe.strip() or None,
        product=request.product.strip() or None,
        version=request.version.strip() or None,
        banner=request.banner,
    )


def score(m: CvssMetric) -> threat_pb2.CvssScore:
    return threat_pb2.CvssScore(
        version=m.version,
        vector=m.vector,
        base_score=m.base_score,
        base_severity=m.base_severity,
        source=m.source,
        type=m.type,
        origin=m.origin.value,
    )


def epss(e: EpssScore) -> threat_pb2.EpssInfo:
    return threat_pb2.EpssInfo(score=e.score, percentile=e.percentile, date=e.date)


def priority(a: Assessment) -> threat_pb2.CatalogPriority:
    return threat_pb2.CatalogPriority(
        priority=a.priority.value,
        exploitation=a.exploitation,
        automatable=a.automatable,
        technical_impact=a.technical_impact,
    )


def nvd_range(m: CpeMatch) -> threat_pb2.AffectedRange:
    return threat_pb2.AffectedRange(
        origin="nvd",
        criteria=m.criteria,
        vulnerable=m.vulnerable,
        start_including=m.version_start_including or "",
        start_excluding=m.version_start_excluding or "",
        end_including=m.version_end_including or "",
        end_excluding=m.version_end_excluding or "",
    )


def cve5_ranges(a: Affected) -> list[threat_pb2.AffectedRange]:
    return [
        threat_pb2.AffectedRange(
            origin=a.origin.value,
            provider=a.provider,
            criteria=f"{a.vendor}:{a.product}",
            vulnerable=v.status == "affected",
            version=v.version,
            end_including=v.less_than_or_equal or "",
            end_excluding=v.less_than or "",
            status=v.status,
            version_type=v.version_type or "",
        )
        for v in a.versions
    ]


def _ranges(record: CveRecord) -> list[threat_pb2.AffectedRange]:
    out = [
        nvd_range(m)
        for conf in record.configurations
        for node in conf.nodes
        for m in node.cpe_match
        if m.vulnerable
    ]
    return out + [r for a in record.affected for r in cve5_ranges(a)]


def entry_message(entry: CatalogEntry) -> threat_pb2.CatalogEntry:
    record, chosen = entry.record, entry.assessment.metric
    message = threat_pb2.CatalogEntry(
        cve_id=record.id,
        description=record.description(),
        published=record.published or "",
        last_modified=record.last_modified or "",
        vuln_status=record.vuln_status or "",
        scores=[score(m) for m in record.metrics],
        weaknesses=[
            threat_pb2.CatalogWeakness(
                cwe_id=w.cwe_id,
                name=entry.cwe_names.get(w.cwe_id, ""),
                source=w.source,
                origin=w.origin.value,
            )
            for w in record.weaknesses
        ],
        references=[
            threat_pb2.CatalogReference(url=r.url, source=r.source, tags=r.tags) for r in record.references
        ],
        affected=_ranges(record),
        provenance=[
            threat_pb2.CatalogProvenance(
                source=p.source,
                import_id=p.import_id,
                modified=p.modified,
                feed=KIND_TO_PROTO[p.feed] if p.feed else threat_pb2.FEED_KIND_UNSPECIFIED,
                stale=p.stale,
            )
            for p in entry.provenance
        ],
        priority=priority(entry.assessment),
    )
    if chosen is not None:
        message.chosen.CopyFrom(score(chosen))
    if record.kev is not None:
        k = record.kev
        message.kev.CopyFrom(
            threat_pb2.KevInfo(
                date_added=k.date_added,
                due_date=k.due_date or "",
                known_ransomware_campaign_use=k.known_ransomware_campaign_use,
                vulnerability_name=k.vulnerability_name,
                required_action=k.required_action,
                notes=k.notes,
            )
        )
    if record.epss is not None:
        message.epss.CopyFrom(epss(record.epss))
    return message


def matches_message(result: CatalogMatches, stale_after_days: float) -> threat_pb2.CatalogMatches:
    reply = threat_pb2.CatalogMatches(
        product_key=result.product_key or "",
        sources=status_message(list(result.sources), stale_after_days).sources,
        stale_after_days=stale_after_days,
    )
    for c in result.matches:
        m, record = c.match, c.match.record
        item = reply.matches.add(
            cve_id=m.cve_id,
            verdict=m.verdict.value,
            basis=m.basis.value,
            reason=m.reason,
            confidence=m.confidence.value,
            confirmed=m.confirmed,
            tentative=m.tentative,
            tentative_reason=m.tentative_reason or "",
            disagreement=m.disagreement,
            sources=[threat_pb2.SourceSays(source=v.source, says=v.says, detail=v.detail) for v in m.sources],
            priority=priority(c.assessment),
            kev=record is not None and record.kev is not None,
            description=record.description() if record else "",
        )
        if m.cpe_match is not None:
            item.matched_range.CopyFrom(nvd_range(m.cpe_match))
        if c.assessment.metric is not None:
            item.severity.CopyFrom(score(c.assessment.metric))
        if record is not None and record.epss is not None:
            item.epss.CopyFrom(epss(record.epss))
    return reply
