"""Engine findings as domain results: the one mapping from what the engine reports."""

from __future__ import annotations

from datetime import datetime

from rampart_scan.domain import Certificate, HostResult, OsHint, PortCounts, PortResult, ServiceInfo, TlsAudit
from rampart_scan.engine import services, tls
from rampart_scan.engine.scanner import HostReport, PortFinding
from rampart_scan.engine.targets import Host


def service_info(found: services.ServiceInfo) -> ServiceInfo:
    return ServiceInfo(
        found.name,
        found.product,
        found.version,
        found.extra_info,
        found.cpe,
        found.confidence,
        found.evidence,
        dict(found.facts),
    )


def tls_audit(report: tls.TlsReport) -> TlsAudit:
    cert = report.certificate
    return TlsAudit(
        protocols_accepted=tuple(report.protocols_accepted),
        negotiated_protocol=report.negotiated_protocol,
        negotiated_cipher=report.negotiated_cipher,
        certificate=None
        if cert is None
        else Certificate(
            subject=cert.subject,
            issuer=cert.issuer,
            subject_alt_names=tuple(cert.subject_alt_names),
            not_before=cert.not_before,
            not_after=cert.not_after,
            key_type=cert.key_type,
            key_bits=cert.key_bits,
            signature_algorithm=cert.signature_algorithm,
            self_signed=cert.self_signed,
            expired=cert.expired,
            not_yet_valid=cert.not_yet_valid,
            hostname_mismatch=cert.hostname_mismatch,
        ),
        weaknesses=tuple(report.weaknesses),
    )


def port_result(host: Host, finding: PortFinding, found_at: datetime | None = None) -> PortResult:
    return PortResult(
        host=str(host.address),
        port=finding.port,
        state=finding.state,
        rtt_ms=finding.rtt_ms,
        name=host.name,
        service=None if finding.service is None else service_info(finding.service),
        tls=None if finding.tls is None else tls_audit(finding.tls),
        found_at=found_at,
    )


def host_result(report: HostReport) -> HostResult:
    hint = report.os
    return HostResult(
        host=str(report.host.address),
        name=report.host.name,
        counts=PortCounts().plus(report.counts),
        filtered_ports=tuple(report.filtered_ports),
        duration_seconds=report.duration_seconds,
        os=None if hint is None else OsHint(hint.name, hint.confidence, tuple(hint.evidence)),
    )
