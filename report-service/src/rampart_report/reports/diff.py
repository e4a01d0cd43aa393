"""What a diff report shows: the changes between two scans, as plain domain values.

scan-service computes the results side (``DiffScans``: hosts, ports, services, certificates; it
also picks the default baseline); the findings side compares the two scans' findings by
fingerprint, as ``GET /scans/{id}/diff`` does (docs/monitoring.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from rampart_report.exports.model import SEVERITIES, FindingEntry, ScanInfo
from rampart_report.reports.scope import matches

REOPENED = "reopened"


@dataclass(frozen=True)
class Service:
    name: str = ""
    product: str = ""
    version: str = ""

    @property
    def label(self) -> str:
        return " ".join(part for part in (self.name, self.product, self.version) if part) or "unknown"


@dataclass(frozen=True)
class Certificate:
    subject: str = ""
    issuer: str = ""
    not_after: datetime | None = None
    key: str = ""  # e.g. "RSA 2048"

    @property
    def label(self) -> str:
        until = self.not_after.strftime("%Y-%m-%d") if self.not_after else "?"
        return f"{self.subject or '?'} (issuer {self.issuer or '?'}, until {until})"


@dataclass(frozen=True)
class PortChange:
    host: str
    port: int
    protocol: str
    service: Service = Service()


@dataclass(frozen=True)
class ServiceChange:
    host: str
    port: int
    protocol: str
    before: Service
    after: Service


@dataclass(frozen=True)
class CertificateChange:
    host: str
    port: int
    protocol: str
    before: Certificate | None  # None: the port had no certificate
    after: Certificate | None


@dataclass(frozen=True)
class CertificateExpiry:
    host: str
    port: int
    protocol: str
    certificate: Certificate
    days_left: int  # negative: expired


@dataclass(frozen=True)
class ResultsDiff:
    """scan-service's side: the newer scan (``scan``) against the older (``against``)."""

    scan: ScanInfo
    against: ScanInfo
    hosts_up: tuple[str, ...] = ()
    hosts_down: tuple[str, ...] = ()
    ports_opened: tuple[PortChange, ...] = ()
    ports_closed: tuple[PortChange, ...] = ()
    services_changed: tuple[ServiceChange, ...] = ()
    certificates_changed: tuple[CertificateChange, ...] = ()
    certificates_expiring: tuple[CertificateExpiry, ...] = ()


@dataclass(frozen=True)
class FindingsDiff:
    new: tuple[FindingEntry, ...] = ()
    reopened: tuple[FindingEntry, ...] = ()
    resolved: tuple[FindingEntry, ...] = ()


def _by_severity(findings: Sequence[FindingEntry]) -> tuple[FindingEntry, ...]:
    return tuple(sorted(findings, key=lambda f: (SEVERITIES.index(f.severity), f.host, f.port, f.subject)))


def findings_diff(before: Sequence[FindingEntry], after: Sequence[FindingEntry]) -> FindingsDiff:
    """New, reopened and resolved findings by fingerprint: seen now and not before (reopened when
    the record is reopened: it had been fixed), or seen before and not now."""
    old = {f.fingerprint: f for f in before}
    new = {f.fingerprint: f for f in after}
    appeared = [f for key, f in new.items() if key not in old]
    return FindingsDiff(
        new=_by_severity([f for f in appeared if f.status != REOPENED]),
        reopened=_by_severity([f for f in appeared if f.status == REOPENED]),
        resolved=_by_severity([f for key, f in old.items() if key not in new]),
    )


@dataclass(frozen=True)
class Diff:
    """Both sides; ``findings`` None when threat-service could not list them (``findings_note``)."""

    results: ResultsDiff
    findings: FindingsDiff | None
    findings_note: str = ""

    def counts(self) -> dict[str, int | None]:
        r, f = self.results, self.findings
        counted: dict[str, int | None] = {
            "hosts_up": len(r.hosts_up),
            "hosts_down": len(r.hosts_down),
            "ports_opened": len(r.ports_opened),
            "ports_closed": len(r.ports_closed),
            "services_changed": len(r.services_changed),
            "certificates_changed": len(r.certificates_changed),
            "certificates_expiring": len(r.certificates_expiring),
        }
        for kind in ("new", "reopened", "resolved"):
            counted[f"findings_{kind}"] = len(getattr(f, kind)) if f is not None else None
        return counted

    @property
    def changed(self) -> bool:
        return any(self.counts().values())


def within(diff: Diff, hosts: Sequence[str]) -> Diff:
    """Only the changes on ``hosts`` (a report over assets); everything when ``hosts`` is empty."""
    if not hosts:
        return diff
    r = diff.results

    def keep(host: str) -> bool:
        return matches(host, hosts)

    results = replace(
        r,
        hosts_up=tuple(h for h in r.hosts_up if keep(h)),
        hosts_down=tuple(h for h in r.hosts_down if keep(h)),
        ports_opened=tuple(c for c in r.ports_opened if keep(c.host)),
        ports_closed=tuple(c for c in r.ports_closed if keep(c.host)),
        services_changed=tuple(c for c in r.services_changed if keep(c.host)),
        certificates_changed=tuple(c for c in r.certificates_changed if keep(c.host)),
        certificates_expiring=tuple(c for c in r.certificates_expiring if keep(c.host)),
    )
    f = diff.findings
    findings = (
        None
        if f is None
        else FindingsDiff(
            tuple(x for x in f.new if keep(x.host)),
            tuple(x for x in f.reopened if keep(x.host)),
            tuple(x for x in f.resolved if keep(x.host)),
        )
    )
    return replace(diff, results=results, findings=findings)
