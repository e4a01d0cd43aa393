"""``vulnerable_service`` findings: what the knowledge matcher says applies to a detected service.

One finding per CVE whose verdict is affected or conditional (undetermined CVEs, such as a protocol
flaw whose NVD data names no server product, are not findings). Severity is the chosen CVSS score's
rating, raised to high for a CVE in CISA KEV; confidence and remediation follow the match's basis
(docs/findings.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from rampart.scan.v1 import scan_pb2
from rampart_threat.findings.model import Confidence, Finding, FindingType, Severity
from rampart_threat.findings.ports import ScanContext
from rampart_threat.knowledge.cpe import InvalidCpe, parse_cpe
from rampart_threat.knowledge.matcher import Basis, Match, Query, Verdict
from rampart_threat.knowledge.model import CpeMatch, CveRecord, CvssMetric
from rampart_threat.knowledge.service import CatalogMatch, CatalogMatches

NVD_DETAIL = "https://nvd.nist.gov/vuln/detail/"
MAX_REFERENCES = 12
MAX_DESCRIPTION = 4000
RATINGS = {"none": Severity.INFO, "low": Severity.LOW, "medium": Severity.MEDIUM, "high": Severity.HIGH}
RATINGS["critical"] = Severity.CRITICAL
RANK = list(Severity)


class Catalog(Protocol):
    """The knowledge base's match question (``KnowledgeService`` answers it)."""

    async def match(self, query: Query) -> CatalogMatches: ...


@dataclass(frozen=True)
class Detected:
    """A service as the matcher is asked about it."""

    query: Query
    label: str  # "OpenSSH 9.2p1", for titles
    product: str  # "OpenSSH", for remediation


def detected(port: scan_pb2.PortResult, facts: Mapping[str, str]) -> Detected | None:
    """The matcher query for a port's service, or None when there is no product and version to ask about."""
    if not port.HasField("service"):
        return None
    service = port.service
    cpe, cpe_version = service.cpe or None, ""
    if cpe:
        try:
            cpe_version = parse_cpe(cpe).version
        except InvalidCpe:  # a badly built CPE: ask by product and version instead
            cpe = None
    has_version = bool(service.version) or cpe_version not in ("", "*", "-")
    if not has_version or not (cpe or service.product):
        return None
    first_line = service.evidence.split("\\r\\n", 1)[0].split("\\n", 1)[0]
    banner = " ".join(p for p in (first_line, service.extra_info, facts.get("http.server", "")) if p)
    query = Query(
        cpe=cpe,
        product=service.product or None,
        version=service.version or None,
        banner=banner[:512],
    )
    product = service.product or service.name
    return Detected(query, " ".join(p for p in (product, service.version) if p), product)


def severity(metric: CvssMetric | None, kev: bool) -> Severity:
    """The chosen score's own rating (CVSS 2.0 has no critical), medium when unscored; KEV: at least high."""
    if metric is None:
        found = Severity.MEDIUM
    elif metric.base_severity.lower() in RATINGS:
        found = RATINGS[metric.base_severity.lower()]
    else:
        score = metric.base_score
        found = (
            Severity.CRITICAL
            if score >= 9.0
            else Severity.HIGH
            if score >= 7.0
            else Severity.MEDIUM
            if score >= 4.0
            else Severity.LOW
            if score > 0
            else Severity.INFO
        )
    if kev and RANK.index(found) < RANK.index(Severity.HIGH):
        return Severity.HIGH
    return found


def confidence(match: Match) -> Confidence:
    """Conditional for running-on matches; tentative for distribution builds and what NVD did not decide."""
    if match.verdict is Verdict.CONDITIONAL:
        return Confidence.CONDITIONAL
    if match.tentative or not match.confirmed or match.basis not in (Basis.NVD, Basis.DISTRIBUTION):
        return Confidence.TENTATIVE
    return Confidence.CONFIRMED


def affected_range(m: CpeMatch) -> str:
    """An NVD entry's versions in words: ">= 8.6, < 9.8", or the exact version it names."""
    bounds = (
        (">=", m.version_start_including),
        (">", m.version_start_excluding),
        ("<=", m.version_end_including),
        ("<", m.version_end_excluding),
    )
    parts = [f"{op} {v}" for op, v in bounds if v]
    if parts:
        return ", ".join(parts)
    try:
        cpe = parse_cpe(m.criteria)
    except InvalidCpe:
        return m.criteria
    update = f" {cpe.update}" if cpe.update not in ("*", "-", "") else ""
    return f"exactly {cpe.version}{update}" if cpe.version not in ("*", "-") else "every version"


def remediation(match: Match, record: CveRecord, product: str) -> str:
    """Built from what decided the match: the NVD range, the CVE 5 entry, or the description."""
    if match.basis is Basis.NVD and match.cpe_match is not None:
        text = (
            f"Upgrade {product} to a version outside the affected range "
            f"({affected_range(match.cpe_match)}, per NVD)."
        )
    elif match.basis is Basis.DESCRIPTION:
        text = (
            f"The CVE description names the affected versions ({match.reason}); upgrade {product} to a "
            "version it does not cover, and check the vendor's advisory."
        )
    else:
        text = f"Upgrade {product} to a version outside the affected range ({match.reason})."
    if match.verdict is Verdict.CONDITIONAL:
        text += f" It applies only on the platform NVD names ({match.reason}): check this host runs it."
    if match.tentative and match.tentative_reason:
        text += (
            f" This looks like a distribution build ({match.tentative_reason}): check the distribution's "
            "security tracker, the fix may have been backported under the same upstream version."
        )
    if record.kev is not None:
        text += f" Exploited in the wild: in CISA KEV since {record.kev.date_added}."
        if record.kev.required_action:
            due = f" (due {record.kev.due_date})" if record.kev.due_date else ""
            text += f" CISA's required action{due}: {record.kev.required_action}"
    return text


def _cwes(record: CveRecord) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for w in record.weaknesses:
        if w.cwe_id.upper().startswith("CWE-"):
            seen.setdefault(w.cwe_id.upper())
    return tuple(seen)


def _references(record: CveRecord) -> tuple[str, ...]:
    urls: dict[str, None] = {NVD_DETAIL + record.id: None}
    for ref in record.references:
        if len(urls) >= MAX_REFERENCES:
            break
        urls.setdefault(ref.url)
    return tuple(urls)


def finding(
    context: ScanContext,
    port: scan_pb2.PortResult,
    service: Detected,
    found: CatalogMatch,
    evidence: Mapping[str, str],
    now: datetime,
) -> Finding:
    """One CVE that applies to one detected service, as a finding."""
    match, assessment = found.match, found.assessment
    record = match.record
    assert record is not None  # the catalog answers only matches that carry their record
    metric = assessment.metric
    info = port.service
    return Finding(
        org_id=context.org_id,
        scan_id=context.scan_id,
        live=context.live,
        host=port.host,
        port=port.port,
        protocol=port.protocol or "tcp",
        type=FindingType.VULNERABLE_SERVICE,
        subject=match.cve_id,
        title=f"{service.label} is affected by {match.cve_id}",
        severity=severity(metric, record.kev is not None),
        detected_at=now,
        description=record.description()[:MAX_DESCRIPTION],
        remediation=remediation(match, record, service.product),
        cvss_score=metric.base_score if metric else None,
        cvss_vector=metric.vector if metric else "",
        cwe=_cwes(record),
        references=_references(record),
        evidence=evidence,
        confidence=confidence(match),
        kev=record.kev is not None,
        epss=record.epss.score if record.epss else None,
        priority=assessment.priority.value,
        service=" ".join(p for p in (info.name, info.product, info.version) if p),
        cpe=info.cpe,
    )


def applicable(matches: CatalogMatches) -> list[CatalogMatch]:
    """The catalog's answers that are findings: affected or conditional, with their record."""
    keep = (Verdict.AFFECTED, Verdict.CONDITIONAL)
    return [m for m in matches.matches if m.match.verdict in keep and m.match.record is not None]
