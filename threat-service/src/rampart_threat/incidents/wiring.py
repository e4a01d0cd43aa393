"""The incident side's parts, built around any repositories (tests pass fakes)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rampart.lib.outbox import Outbox
from rampart_threat.assets.repository import AssetRepository
from rampart_threat.incidents.consumers import AnalysisEventHandler
from rampart_threat.incidents.notify import EmailNotifier, Notifier, Notifiers, OutboxNotifier, SmtpConfig
from rampart_threat.incidents.repository import IncidentRepository
from rampart_threat.incidents.rules import IncidentRules, Rule, load_rules
from rampart_threat.incidents.service import IncidentService
from rampart_threat.incidents.triage import SlaTable


@dataclass(frozen=True)
class IncidentParts:
    service: IncidentService
    rules: IncidentRules
    inventory: AssetRepository  # the assets triage links (rampart_threat.assets)
    on_analysis: AnalysisEventHandler


def incident_parts(
    incidents: IncidentRepository,
    assets: AssetRepository,
    notifier: Notifier,
    sla: SlaTable | None = None,
    rules: Sequence[Rule] = (),
) -> IncidentParts:
    service = IncidentService(incidents, assets, sla or SlaTable.load(), notifier)
    engine = IncidentRules(rules, service, assets)
    return IncidentParts(service, engine, assets, AnalysisEventHandler(engine))


def notifiers(outbox: Outbox, smtp_url: str, sender: str, recipients: str) -> Notifier:
    """The broker event always; email too when SMTP_URL and INCIDENT_EMAIL_TO are set."""
    chain: list[Notifier] = [OutboxNotifier(outbox)]
    to = tuple(address.strip() for address in recipients.split(",") if address.strip())
    if smtp_url and to:
        chain.append(EmailNotifier(SmtpConfig(smtp_url, sender, to)))
    return Notifiers(chain)


def configured_rules(path: Path | None) -> list[Rule]:
    return load_rules(path)
