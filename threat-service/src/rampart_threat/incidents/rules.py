"""Incident rules: data, per organisation, off by default, that open incidents on their own."""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import structlog

from rampart.lib.errors import AlreadyExists
from rampart.lib.events import Outcome
from rampart_threat.assets.domain import normalise_host
from rampart_threat.incidents.domain import SYSTEM_ACTOR, Severity

if TYPE_CHECKING:
    from rampart_threat.assets.repository import AssetRepository
    from rampart_threat.findings.model import Finding
    from rampart_threat.incidents.service import IncidentService

log = structlog.get_logger(__name__)

DEFAULT_RULES_FILE = Path(__file__).parent / "data" / "rules.toml"
MALICIOUS_ANALYSIS = "analysis.malicious"
KEV_VULNERABILITY = "vulnerability.kev"  # the first sighting of a CISA KEV-listed CVE on an asset
TRIGGERS = frozenset({MALICIOUS_ANALYSIS, KEV_VULNERABILITY})


@dataclass(frozen=True)
class Rule:
    rule_id: str
    org_id: str
    trigger: str
    enabled: bool = False
    severity: Severity = Severity.HIGH
    min_risk_score: int = 0
    seen_in_scans: bool = False  # only indicators the organisation's scans have seen


@dataclass(frozen=True)
class Verdict:
    """A finished analysis, as the analysis side announces it (``threat.analyses.completed``)."""

    event_id: str
    org_id: str
    user_id: str
    analysis_id: str
    indicator: str
    kind: str  # url, domain, ip, hash, payload
    classification: str  # benign, suspicious, malicious, unknown
    risk_score: int


def load_rules(path: Path | None = None) -> list[Rule]:
    """The rules of a TOML file (``[[rule]]`` tables); an unknown trigger is refused, not ignored."""
    raw = tomllib.loads((path or DEFAULT_RULES_FILE).read_text())
    rules = []
    for entry in raw.get("rule", []):
        trigger = str(entry["trigger"])
        if trigger not in TRIGGERS:
            raise ValueError(f"rule {entry.get('rule_id')}: unknown trigger {trigger!r}")
        rules.append(
            Rule(
                rule_id=str(entry["rule_id"]),
                org_id=str(entry["org_id"]),
                trigger=trigger,
                enabled=bool(entry.get("enabled", False)),
                severity=Severity(entry.get("severity", "high")),
                min_risk_score=int(entry.get("min_risk_score", 0)),
                seen_in_scans=bool(entry.get("seen_in_scans", False)),
            )
        )
    return rules


class IncidentRules:
    """Applies the enabled rules of an organisation to what happens in it.

    The analysis side calls ``on_analysis`` directly or publishes ``threat.analyses.completed``
    (consumed by ``AnalysisEventHandler``). The incident id comes from the event and the rule,
    so a redelivered event opens nothing twice.
    """

    def __init__(self, rules: Sequence[Rule], incidents: IncidentService, assets: AssetRepository) -> None:
        self._rules = [rule for rule in rules if rule.enabled]
        self._incidents = incidents
        self._assets = assets

    def rules_for(self, org_id: str, trigger: str) -> list[Rule]:
        return [rule for rule in self._rules if rule.org_id == org_id and rule.trigger == trigger]

    async def on_analysis(self, verdict: Verdict) -> Outcome:
        """Open an incident per matching rule for a ``malicious`` verdict; DUPLICATE when all existed."""
        from rampart_threat.incidents.service import Actor, IncidentDraft

        if verdict.classification != "malicious":
            return Outcome.APPLIED
        outcome = Outcome.APPLIED
        for rule in self.rules_for(verdict.org_id, MALICIOUS_ANALYSIS):
            if verdict.risk_score < rule.min_risk_score:
                continue
            if rule.seen_in_scans and not await self._seen(verdict):
                continue
            draft = IncidentDraft(
                title=f"Malicious {verdict.kind} {verdict.indicator}"[:200],
                severity=rule.severity,
                description=(
                    f"Opened by rule {rule.rule_id}: analysis {verdict.analysis_id} classified "
                    f"{verdict.indicator} as malicious (risk {verdict.risk_score})."
                ),
                affected_systems=(verdict.indicator,) if verdict.kind == "ip" else (),
                related_analyses=(verdict.analysis_id,),
            )
            incident_id = (
                "inc_r" + hashlib.sha256(f"{verdict.event_id}:{rule.rule_id}".encode()).hexdigest()[:19]
            )
            try:
                await self._incidents.create(
                    Actor(verdict.org_id, SYSTEM_ACTOR), draft, rule_id=rule.rule_id, incident_id=incident_id
                )
            except AlreadyExists:
                outcome = Outcome.DUPLICATE
                continue
            log.info("incident opened by rule", rule_id=rule.rule_id, incident_id=incident_id)
            outcome = Outcome.APPLIED
        return outcome

    async def on_kev_finding(self, finding: Finding, vulnerability_id: str) -> None:
        """The finding pipeline saw a KEV-listed CVE for the first time on a (live) asset: open an
        incident per enabled ``vulnerability.kev`` rule of the organisation.

        The incident id comes from the vulnerability record and the rule, so a redelivered scan
        event, a rescan or a restart never opens a second one for the same record.
        """
        from rampart_threat.incidents.service import Actor, IncidentDraft

        if not finding.live or not finding.kev:
            return  # test-key (sandbox) findings never open incidents
        where = f"{finding.host}:{finding.port}/{finding.protocol}"
        for rule in self.rules_for(finding.org_id, KEV_VULNERABILITY):
            draft = IncidentDraft(
                title=f"Known exploited {finding.subject} on {where}"[:200],
                severity=rule.severity,
                description=(
                    f"Opened by rule {rule.rule_id}: scan {finding.scan_id} found {finding.subject} "
                    f"({finding.title}), listed in CISA's Known Exploited Vulnerabilities catalogue, "
                    f"on {where} ({finding.service or 'service'}). Vulnerability {vulnerability_id}."
                )[:10_000],
                affected_systems=(finding.host,),
                related_findings=(vulnerability_id,),
            )
            incident_id = (
                "inc_r" + hashlib.sha256(f"{vulnerability_id}:{rule.rule_id}".encode()).hexdigest()[:19]
            )
            try:
                await self._incidents.create(
                    Actor(finding.org_id, SYSTEM_ACTOR), draft, rule_id=rule.rule_id, incident_id=incident_id
                )
            except AlreadyExists:
                continue  # a redelivery: the incident is there already
            log.info("incident opened by rule", rule_id=rule.rule_id, incident_id=incident_id)

    async def _seen(self, verdict: Verdict) -> bool:
        if verdict.kind not in ("ip", "domain"):
            return False
        host = normalise_host(verdict.indicator)
        return bool(await self._assets.find(verdict.org_id, (), (host,), False))
