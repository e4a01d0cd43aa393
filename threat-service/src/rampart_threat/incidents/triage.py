"""Automated triage: affected systems resolved to known assets, an SLA, suggested next steps."""

from __future__ import annotations

import ipaddress
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from rampart_threat.assets.domain import ASSET_PREFIX, Asset, normalise_host
from rampart_threat.incidents.domain import Incident, LinkedAsset, Severity, Triage

DEFAULT_SLA_FILE = Path(__file__).parent / "data" / "sla.toml"
# Ports whose exposure is a classic way in or out; a linked asset with one open gets a step.
RISKY_PORTS = {
    21: "FTP",
    23: "Telnet",
    445: "SMB",
    1433: "MSSQL",
    3306: "MySQL",
    3389: "RDP",
    5432: "PostgreSQL",
    5900: "VNC",
    6379: "Redis",
    9200: "Elasticsearch",
    11211: "memcached",
    27017: "MongoDB",
}
FINDINGS_NOTE = (
    "related findings are linked as given: threat-service does not hold vulnerabilities yet "
    "(issue 11), so their existence, state and KEV listing are not checked"
)
UNRESOLVED_NOTE = "{count} affected system(s) match no host the organisation's scans have seen: {names}"


@dataclass(frozen=True)
class Sla:
    priority: str
    resolve_hours: float


class SlaTable:
    """Priority and time to resolve per severity, read from a TOML data file."""

    def __init__(self, table: dict[Severity, Sla]) -> None:
        missing = [severity.value for severity in Severity if severity not in table]
        if missing:
            raise ValueError(f"SLA table lacks {', '.join(missing)}")
        self._table = table

    @classmethod
    def load(cls, path: Path | None = None) -> SlaTable:
        raw = tomllib.loads((path or DEFAULT_SLA_FILE).read_text())
        table = {
            Severity(name): Sla(str(entry["priority"]), float(entry["resolve_hours"]))
            for name, entry in raw.items()
        }
        return cls(table)

    def for_severity(self, severity: Severity) -> Sla:
        return self._table[severity]


@dataclass(frozen=True)
class SystemQuery:
    """What the affected systems ask the inventory for."""

    asset_ids: tuple[str, ...]
    hosts: tuple[str, ...]
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]


def system_query(systems: Iterable[str]) -> SystemQuery:
    ids, hosts, networks = [], [], []
    for system in systems:
        text = system.strip()
        if text.startswith(ASSET_PREFIX):
            ids.append(text)
        elif "/" in text:
            try:
                networks.append(ipaddress.ip_network(text, strict=False))
            except ValueError:
                hosts.append(normalise_host(text))
        else:
            hosts.append(normalise_host(text))
    return SystemQuery(tuple(ids), tuple(hosts), tuple(networks))


def link_systems(
    systems: Sequence[str], org_id: str, assets: Iterable[Asset]
) -> tuple[list[LinkedAsset], list[str]]:
    """Each affected system's assets (by id, host or containing network), and those that match none."""
    known = list(assets)
    linked: dict[str, LinkedAsset] = {}
    unresolved: list[str] = []
    for system in systems:
        matches = [asset for asset in known if _matches(system, org_id, asset)]
        if not matches:
            unresolved.append(system)
        for asset in matches:
            linked.setdefault(asset.asset_id, LinkedAsset(asset, system))
    return list(linked.values()), unresolved


def _matches(system: str, org_id: str, asset: Asset) -> bool:
    text = system.strip()
    if text.startswith(ASSET_PREFIX):
        return text == asset.asset_id
    if "/" in text:
        try:
            network = ipaddress.ip_network(text, strict=False)
            return ipaddress.ip_address(asset.host) in network
        except ValueError:
            return False
    return normalise_host(text) == asset.host


def next_steps(
    incident: Incident, linked: Sequence[LinkedAsset], unresolved: Sequence[str], due: datetime
) -> list[str]:
    """Suggestions drawn from the evidence linked, most urgent first."""
    steps: list[str] = []
    hosts = [link.asset.host for link in linked]
    if hosts and incident.severity in (Severity.HIGH, Severity.CRITICAL):
        steps.append(
            f"Isolate or restrict network access to {', '.join(hosts)} until the incident is contained"
        )
    for link in linked:
        asset = link.asset
        risky = [f"{port}/{RISKY_PORTS[port]}" for port in asset.open_ports if port in RISKY_PORTS]
        if risky:
            steps.append(
                f"Close or firewall {', '.join(risky)} on {asset.host}: exposed remote-access or data service"
            )
        if asset.open_ports:
            ports = ", ".join(str(port) for port in asset.open_ports)
            steps.append(
                f"Review the services on {asset.host} (open ports {ports}, scan {asset.last_scan_id})"
            )
    for system in unresolved:
        steps.append(f"Scan {system}: no scan of this organisation has seen it, so its exposure is unknown")
    if incident.related_findings:
        steps.append(f"Check findings {', '.join(incident.related_findings)} on the affected systems")
    if incident.related_analyses:
        steps.append(
            f"Block the indicators of analyses {', '.join(incident.related_analyses)} at the perimeter"
        )
    if not incident.assignee:
        steps.append(f"Assign an owner; resolution is due by {due.isoformat()}")
    return steps


def triage(incident: Incident, assets: Iterable[Asset], sla: SlaTable) -> Triage:
    """The triage of a new incident from the assets the inventory returned for its systems."""
    linked, unresolved = link_systems(incident.affected_systems, incident.org_id, assets)
    entry = sla.for_severity(incident.severity)
    due = incident.created_at + timedelta(hours=entry.resolve_hours)
    notes = []
    if unresolved:
        notes.append(UNRESOLVED_NOTE.format(count=len(unresolved), names=", ".join(unresolved)))
    if incident.related_findings:
        notes.append(FINDINGS_NOTE)
    return Triage(
        assets=tuple(linked),
        unresolved=tuple(unresolved),
        priority=entry.priority,
        due_at=due,
        next_steps=tuple(next_steps(incident, linked, unresolved, due)),
        notes=tuple(notes),
    )
