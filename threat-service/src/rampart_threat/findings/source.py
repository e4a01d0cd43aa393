"""The ``FindingSource`` the pipeline uses: rule checks on a port's facts, and its service's CVEs.

PortResult ──► facts.flatten ──► rules.matching ──► misconfiguration / exposure findings
          └──► cves.detected ──► Catalog.match ──► vulnerable_service findings
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime

import structlog

from rampart.lib.errors import InvalidArgument
from rampart.scan.v1 import scan_pb2
from rampart_threat.findings import cves
from rampart_threat.findings.facts import Facts, flatten
from rampart_threat.findings.model import Confidence, Finding, Severity
from rampart_threat.findings.ports import FindingSource, ScanContext
from rampart_threat.findings.rules import Rule, load_rules, matching

log = structlog.get_logger(__name__)

MAX_EVIDENCE_VALUE = 512  # characters per recorded fact
MAX_EVIDENCE_TOTAL = 4096  # characters of keys and values per finding
# A rule finding's priority, from its severity (CVE findings take the SSVC-style one of docs/knowledge.md).
RULE_PRIORITY = {
    Severity.CRITICAL: "act",
    Severity.HIGH: "attend",
    Severity.MEDIUM: "track*",
    Severity.LOW: "track",
    Severity.INFO: "track",
}

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def cap_evidence(pairs: Mapping[str, str]) -> dict[str, str]:
    """Facts as recorded evidence: empty values left out, each value and the whole map size-capped."""
    out: dict[str, str] = {}
    used = 0
    for key, value in pairs.items():
        if not value:
            continue
        if len(value) > MAX_EVIDENCE_VALUE:
            value = value[: MAX_EVIDENCE_VALUE - 1] + "…"
        if used + len(key) + len(value) > MAX_EVIDENCE_TOTAL:
            break
        out[key] = value
        used += len(key) + len(value)
    return out


def _service_label(port: scan_pb2.PortResult) -> str:
    s = port.service
    return " ".join(p for p in (s.name, s.product, s.version) if p) if port.HasField("service") else ""


def rule_finding(
    rule: Rule, context: ScanContext, port: scan_pb2.PortResult, facts: Facts, now: datetime
) -> Finding:
    """What one fired rule says about one port, with the facts the rule names as evidence."""
    return Finding(
        org_id=context.org_id,
        scan_id=context.scan_id,
        live=context.live,
        host=port.host,
        port=port.port,
        protocol=port.protocol or "tcp",
        type=rule.type,
        subject=rule.id,
        title=rule.title,
        severity=rule.severity,
        detected_at=now,
        description=rule.description,
        remediation=rule.remediation,
        cwe=rule.cwe,
        references=rule.references,
        evidence=cap_evidence({k: facts[k] for k in rule.evidence if k in facts}),
        confidence=Confidence.CONFIRMED,  # the observation itself shows it
        priority=RULE_PRIORITY[rule.severity],
        service=_service_label(port),
        cpe=port.service.cpe if port.HasField("service") else "",
    )


class RulesAndCves:
    """A FindingSource: every rule that fires on the port, then every CVE of its service."""

    def __init__(self, rules: Sequence[Rule], catalog: cves.Catalog | None, clock: Clock = utc_now) -> None:
        self.rules = tuple(rules)
        self.catalog = catalog
        self.clock = clock

    async def findings_for(self, context: ScanContext, port: scan_pb2.PortResult) -> Sequence[Finding]:
        if port.state != scan_pb2.PORT_STATE_OPEN:
            return ()
        now = self.clock()
        facts = flatten(port, now)
        # "pentest", or the proto enum's name ("SCAN_PROFILE_PENTEST") if the caller passed that
        profile = context.profile.lower().removeprefix("scan_profile_")
        fired = matching(self.rules, facts, profile)
        found = [rule_finding(r, context, port, facts, now) for r in fired]
        found.extend(await self._cves(context, port, facts, now))
        return tuple(found)

    async def _cves(
        self, context: ScanContext, port: scan_pb2.PortResult, facts: Facts, now: datetime
    ) -> list[Finding]:
        service = cves.detected(port, facts) if self.catalog is not None else None
        if service is None or self.catalog is None:
            return []
        try:
            answer = await self.catalog.match(service.query)
        except InvalidArgument as exc:  # a CPE the engine built badly: the rules' findings still stand
            log.warning("findings.cve_query_rejected", cpe=service.query.cpe, error=str(exc))
            return []
        out = []
        for item in cves.applicable(answer):
            evidence = cap_evidence(
                {
                    "service.product": port.service.product,
                    "service.version": port.service.version,
                    "service.cpe": port.service.cpe,
                    "banner": service.query.banner,
                    "matched_product": answer.product_key or "",
                    "basis": item.match.basis.value,
                    "reason": item.match.reason,
                    "tentative_reason": item.match.tentative_reason or "",
                }
            )
            out.append(cves.finding(context, port, service, item, evidence, now))
        return out


def make_finding_source(
    catalog: cves.Catalog | None,
    clock: Clock = utc_now,
    rules: Sequence[Rule] | None = None,
) -> FindingSource:
    """The pipeline's FindingSource: the shipped rule files (checked at start) and the knowledge base
    (``KnowledgeService``; None for rule findings only)."""
    return RulesAndCves(load_rules() if rules is None else rules, catalog, clock)
