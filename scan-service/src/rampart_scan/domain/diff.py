"""What changed between two scans: hosts, open ports, services and certificates.

A pure function on the results of both scans; keyed by (host, port, protocol), so two
65,535-port scans with 1,000 open ports each are compared with a few thousand dict look-ups.
Findings are not here: they are threat-service's, and the gateway adds their diff.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from rampart_scan.domain.results import CLOSED, OPEN, Certificate, HostResult, PortResult, ServiceInfo
from rampart_scan.domain.scan import Scan

DEFAULT_EXPIRING_DAYS = 30
MAX_EXPIRING_DAYS = 3650

PortKey = tuple[str, int, str]


@dataclass(frozen=True)
class ScanSide:
    """One scan's results as the diff reads them; ``protocol`` is the scan's type (tcp/udp)."""

    protocol: str
    ports: Iterable[PortResult]
    hosts: Iterable[HostResult]
    # The ports the scan probed (its port specification); None: not known, every port counts.
    covered: frozenset[int] | None = None

    def covers(self, port: int) -> bool:
        return self.covered is None or port in self.covered


@dataclass(frozen=True)
class PortChange:
    host: str
    port: int
    protocol: str
    service: ServiceInfo | None


@dataclass(frozen=True)
class ServiceChange:
    host: str
    port: int
    protocol: str
    before: ServiceInfo | None
    after: ServiceInfo | None


@dataclass(frozen=True)
class CertificateChange:
    host: str
    port: int
    protocol: str
    before: Certificate | None
    after: Certificate | None


@dataclass(frozen=True)
class CertificateExpiry:
    host: str
    port: int
    protocol: str
    certificate: Certificate
    days_left: int


@dataclass(frozen=True)
class ResultsDiff:
    """The changes from the older scan to the newer one, each list in (host, port) order."""

    hosts_up: tuple[str, ...] = ()
    hosts_down: tuple[str, ...] = ()
    ports_opened: tuple[PortChange, ...] = ()
    ports_closed: tuple[PortChange, ...] = ()
    services_changed: tuple[ServiceChange, ...] = ()
    certificates_changed: tuple[CertificateChange, ...] = ()
    certificates_expiring: tuple[CertificateExpiry, ...] = ()

    @property
    def changed(self) -> bool:
        """Anything a person would want to hear about (an expiring certificate counts)."""
        return any(
            (
                self.hosts_up,
                self.hosts_down,
                self.ports_opened,
                self.ports_closed,
                self.services_changed,
                self.certificates_changed,
                self.certificates_expiring,
            )
        )


@dataclass(frozen=True)
class ScanDiff:
    """Two scans of one caller and what changed from ``against`` (the older side) to ``scan``."""

    scan: Scan
    against: Scan
    results: ResultsDiff


def _open_ports(side: ScanSide) -> dict[PortKey, PortResult]:
    return {(p.host, p.port, side.protocol): p for p in side.ports if p.state == OPEN}


def _answering(side: ScanSide, open_ports: dict[PortKey, PortResult]) -> set[str]:
    """Hosts that answered: an open port, or a closed one (a reset is an answer)."""
    hosts = {host for host, _, _ in open_ports}
    hosts.update(h.host for h in side.hosts if h.counts.open or h.counts.closed)
    hosts.update(p.host for p in side.ports if p.state == CLOSED)
    return hosts


def _service_key(service: ServiceInfo | None) -> tuple[str, str, str]:
    if service is None:
        return ("", "", "")
    return (service.name, service.product, service.version)


def _certificate_key(cert: Certificate | None) -> tuple[object, ...] | None:
    if cert is None:
        return None
    return (
        cert.subject,
        cert.issuer,
        tuple(sorted(cert.subject_alt_names)),
        cert.not_before,
        cert.not_after,
        cert.key_type,
        cert.key_bits,
        cert.signature_algorithm,
    )


def _certificate(port: PortResult) -> Certificate | None:
    return port.tls.certificate if port.tls is not None else None


def days_left(cert: Certificate, now: datetime) -> int:
    """Whole days until the certificate expires; negative once it has."""
    return (cert.not_after - now) // timedelta(days=1)


def diff_results(
    before: ScanSide, after: ScanSide, now: datetime, expiring_within_days: int = DEFAULT_EXPIRING_DAYS
) -> ResultsDiff:
    """The changes from ``before`` to ``after``; certificates expiring are read from ``after``."""
    old, new = _open_ports(before), _open_ports(after)
    old_hosts, new_hosts = _answering(before, old), _answering(after, new)
    # A port the other scan did not probe is neither opened nor closed: it was not looked at.
    opened = [
        PortChange(*key, new[key].service) for key in sorted(new.keys() - old.keys()) if before.covers(key[1])
    ]
    closed = [
        PortChange(*key, old[key].service) for key in sorted(old.keys() - new.keys()) if after.covers(key[1])
    ]
    services: list[ServiceChange] = []
    certificates: list[CertificateChange] = []
    for key in sorted(new.keys() & old.keys()):
        was, now_port = old[key], new[key]
        if _service_key(was.service) != _service_key(now_port.service):
            services.append(ServiceChange(*key, was.service, now_port.service))
        cert_before, cert_after = _certificate(was), _certificate(now_port)
        if _certificate_key(cert_before) != _certificate_key(cert_after):
            certificates.append(CertificateChange(*key, cert_before, cert_after))
    expiring: list[CertificateExpiry] = []
    for key in sorted(new):
        cert = _certificate(new[key])
        if cert is not None:
            left = days_left(cert, now)
            if left <= expiring_within_days:
                expiring.append(CertificateExpiry(*key, cert, left))
    return ResultsDiff(
        hosts_up=tuple(sorted(new_hosts - old_hosts)),
        hosts_down=tuple(sorted(old_hosts - new_hosts)),
        ports_opened=tuple(opened),
        ports_closed=tuple(closed),
        services_changed=tuple(services),
        certificates_changed=tuple(certificates),
        certificates_expiring=tuple(expiring),
    )
