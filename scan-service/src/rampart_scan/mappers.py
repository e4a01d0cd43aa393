"""Domain types to protobuf and back: the only place (with ``api``) that knows the scan proto."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rampart.common.v1 import common_pb2
from rampart.lib.enums import enum_of, enum_word
from rampart.lib.errors import RampartError
from rampart.lib.ids import to_timestamp
from rampart.scan.v1 import scan_pb2
from rampart_scan import domain
from rampart_scan.domain import (
    HostResult,
    Owner,
    PageInfo,
    PlanLimits,
    PortCounts,
    PortResult,
    Scan,
    ScanError,
    ScanOptions,
    ScanSpec,
    ServiceInfo,
    TlsAudit,
    Usage,
)
from rampart_scan.engine.ports import parse_ports, port_ranges

STATUSES = {
    domain.QUEUED: scan_pb2.SCAN_STATUS_QUEUED,
    domain.RUNNING: scan_pb2.SCAN_STATUS_RUNNING,
    domain.COMPLETED: scan_pb2.SCAN_STATUS_COMPLETED,
    domain.FAILED: scan_pb2.SCAN_STATUS_FAILED,
    domain.CANCELLED: scan_pb2.SCAN_STATUS_CANCELLED,
    domain.TIMEOUT: scan_pb2.SCAN_STATUS_TIMEOUT,
}
STATUS_NAMES = {value: name for name, value in STATUSES.items()}
LIFECYCLE = {
    domain.QUEUED: scan_pb2.SCAN_EVENT_TYPE_QUEUED,
    domain.RUNNING: scan_pb2.SCAN_EVENT_TYPE_STARTED,
    domain.COMPLETED: scan_pb2.SCAN_EVENT_TYPE_COMPLETED,
    domain.FAILED: scan_pb2.SCAN_EVENT_TYPE_FAILED,
    domain.CANCELLED: scan_pb2.SCAN_EVENT_TYPE_CANCELLED,
    domain.TIMEOUT: scan_pb2.SCAN_EVENT_TYPE_TIMEOUT,
}
PORT_STATES = {
    "open": scan_pb2.PORT_STATE_OPEN,
    "closed": scan_pb2.PORT_STATE_CLOSED,
    "filtered": scan_pb2.PORT_STATE_FILTERED,
}


# ---- requests in -------------------------------------------------------------------------
def owner_from_proto(owner: common_pb2.Owner) -> Owner:
    """Test keys act in the sandbox world; live keys and signed-in users (JWT) in the live one."""
    return Owner(owner.user_id, owner.org_id, sandbox=owner.mode == common_pb2.KEY_MODE_TEST)


def spec_from_proto(request: scan_pb2.CreateScanRequest) -> ScanSpec:
    options = request.options
    return ScanSpec(
        targets=tuple(request.targets),
        scan_type=enum_word(scan_pb2.ScanType, request.scan_type),
        ports=request.ports,
        options=ScanOptions(
            options.os_detection, options.service_detection, options.ssl_check, options.fast_mode
        ),
        profile=enum_word(scan_pb2.ScanProfile, request.profile),
        max_duration_seconds=request.max_duration_seconds,
        rate=request.rate,
    )


def limits_from_proto(request: scan_pb2.CreateScanRequest) -> PlanLimits:
    return PlanLimits(
        request.concurrent_limit, request.daily_limit, request.max_hosts_limit, request.org_rate_limit
    )


def status_from_proto(status: scan_pb2.ScanStatus.ValueType) -> str:
    return STATUS_NAMES.get(status, "")


# ---- domain out --------------------------------------------------------------------------
def owner_to_proto(owner: Owner) -> common_pb2.Owner:
    mode = common_pb2.KEY_MODE_TEST if owner.sandbox else common_pb2.KEY_MODE_LIVE
    return common_pb2.Owner(user_id=owner.user_id, org_id=owner.org_id, mode=mode)


def counts_to_proto(counts: PortCounts) -> scan_pb2.PortCounts:
    return scan_pb2.PortCounts(
        open=counts.open, closed=counts.closed, filtered=counts.filtered, total_scanned=counts.total
    )


def error_to_proto(error: ScanError | None) -> scan_pb2.ScanError | None:
    return None if error is None else scan_pb2.ScanError(code=error.code, message=error.message)


def scan_to_proto(scan: Scan) -> scan_pb2.Scan:
    spec, options = scan.spec, scan.spec.options
    estimate = scan.estimated_duration_seconds
    completion = (scan.started_at or scan.created_at or datetime.now(UTC)) + timedelta(seconds=estimate)
    return scan_pb2.Scan(
        scan_id=scan.id,
        owner=owner_to_proto(scan.owner),
        targets=spec.targets,
        scan_type=enum_of(scan_pb2.ScanType, spec.scan_type),
        ports=spec.ports,
        options=scan_pb2.ScanOptions(
            os_detection=options.os_detection,
            service_detection=options.service_detection,
            ssl_check=options.ssl_check,
            fast_mode=options.fast_mode,
        ),
        profile=enum_of(scan_pb2.ScanProfile, spec.profile),
        max_duration_seconds=spec.max_duration_seconds,
        status=STATUSES[scan.status],
        progress=100 if scan.status == domain.COMPLETED else scan.progress,
        counts=counts_to_proto(scan.counts),
        created_at=to_timestamp(scan.created_at),
        started_at=to_timestamp(scan.started_at),
        completed_at=to_timestamp(scan.completed_at),
        estimated_duration_seconds=estimate,
        estimated_completion=to_timestamp(completion if not scan.is_final else None),
        error=scan_pb2.ScanError() if scan.error is None else error_to_proto(scan.error),
        sandbox=scan.owner.sandbox,
        excluded_endpoints=scan.excluded_endpoints,
        updated_at=to_timestamp(scan.updated_at),
        rate=spec.rate,
        shards=scan.shards.count,
        shards_done=scan.shards.count if scan.status == domain.COMPLETED else scan.shards_done,
        resumes=scan.resumes,
    )


def service_to_proto(service: ServiceInfo | None) -> scan_pb2.ServiceInfo | None:
    if service is None:
        return None
    return scan_pb2.ServiceInfo(
        name=service.name,
        product=service.product,
        version=service.version,
        extra_info=service.extra_info,
        cpe=service.cpe,
        confidence=service.confidence,
        evidence=service.evidence,
        facts=dict(service.facts),
    )


def tls_to_proto(tls: TlsAudit | None) -> scan_pb2.TlsAudit | None:
    if tls is None:
        return None
    cert = tls.certificate
    certificate = None
    if cert is not None:
        certificate = scan_pb2.Certificate(
            subject=cert.subject,
            issuer=cert.issuer,
            subject_alt_names=cert.subject_alt_names,
            not_before=to_timestamp(cert.not_before),
            not_after=to_timestamp(cert.not_after),
            key_type=cert.key_type,
            key_bits=cert.key_bits,
            signature_algorithm=cert.signature_algorithm,
            self_signed=cert.self_signed,
            expired=cert.expired,
            not_yet_valid=cert.not_yet_valid,
            hostname_mismatch=cert.hostname_mismatch,
        )
    return scan_pb2.TlsAudit(
        protocols_accepted=tls.protocols_accepted,
        negotiated_protocol=tls.negotiated_protocol,
        negotiated_cipher=tls.negotiated_cipher,
        certificate=certificate,
        weaknesses=tls.weaknesses,
    )


def port_to_proto(result: PortResult, protocol: str = "tcp") -> scan_pb2.PortResult:
    return scan_pb2.PortResult(
        host=result.host,
        port=result.port,
        protocol=protocol,
        state=PORT_STATES[result.state],
        service=service_to_proto(result.service),
        tls=tls_to_proto(result.tls),
        rtt_ms=result.rtt_ms or 0.0,
    )


def host_to_proto(result: HostResult) -> scan_pb2.HostResult:
    os_hint = result.os
    return scan_pb2.HostResult(
        host=result.host,
        name=result.name,
        counts=counts_to_proto(result.counts),
        os=scan_pb2.OsHint(
            name=os_hint.name, confidence=os_hint.confidence, evidence="; ".join(os_hint.evidence)
        )
        if os_hint
        else None,
        filtered_ports=result.filtered_ports,
        duration_seconds=result.duration_seconds,
    )


def results_to_proto(scan: Scan, ports: list[PortResult], hosts: list[HostResult]) -> scan_pb2.ScanResults:
    return scan_pb2.ScanResults(
        scan=scan_to_proto(scan),
        summary=counts_to_proto(scan.counts),
        ports=[port_to_proto(p, scan.spec.scan_type) for p in ports],
        hosts=[host_to_proto(h) for h in hosts],
        duration_seconds=scan.duration_seconds,
    )


def page_to_proto(page: PageInfo) -> common_pb2.PageInfo:
    return common_pb2.PageInfo(
        total=page.total,
        page=page.page,
        per_page=page.per_page,
        pages=page.pages,
        next_cursor=page.next_cursor,
    )


def usage_to_proto(usage: Usage) -> scan_pb2.Usage:
    return scan_pb2.Usage(
        scans_total=usage.scans_total,
        scans_since=usage.scans_since,
        active_scans=usage.active_scans,
        by_status=usage.by_status,
    )


def scan_event(
    scan: Scan,
    kind: scan_pb2.ScanEventType.ValueType,
    event_id: str,
    at: datetime,
    progress: scan_pb2.Progress | None = None,
    port: scan_pb2.PortResult | None = None,
    summary: scan_pb2.PortCounts | None = None,
    error: ScanError | None = None,
    duration_seconds: float = 0.0,
    coverage: scan_pb2.ScanCoverage | None = None,
) -> scan_pb2.ScanEvent:
    """A scan event; ``sequence`` orders a scan's events for consumers: the moment, in microseconds."""
    return scan_pb2.ScanEvent(
        event_id=event_id,
        scan_id=scan.id,
        owner=owner_to_proto(scan.owner),
        type=kind,
        occurred_at=to_timestamp(at),
        sequence=int(at.timestamp() * 1_000_000),
        status=STATUSES[scan.status],
        progress=progress,
        port=port,
        summary=summary,
        error=error_to_proto(error),
        duration_seconds=duration_seconds,
        profile=scan.spec.profile,
        coverage=coverage,
    )


def coverage_to_proto(scan: Scan) -> scan_pb2.ScanCoverage | None:
    """The ports a finished scan probed (None when its spec names none, e.g. a scan stored before)."""
    try:
        ports = parse_ports(scan.spec.ports)
    except RampartError:
        return None
    return scan_pb2.ScanCoverage(ports=port_ranges(ports), protocol=scan.spec.scan_type or "tcp")


def job_to_proto(scan: Scan, request_id: str, shard: int = 0) -> scan_pb2.ScanJob:
    return scan_pb2.ScanJob(
        scan_id=scan.id, owner=owner_to_proto(scan.owner), request_id=request_id, shard=shard
    )
