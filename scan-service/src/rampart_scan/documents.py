"""Scans and their results as stored documents, and back: the one place that knows the fields."""

from __future__ import annotations

from typing import Any

from rampart.lib.store import Document, read_time
from rampart_scan.domain import (
    Certificate,
    HostResult,
    Lease,
    OsHint,
    Owner,
    PortCounts,
    PortResult,
    Scan,
    ScanError,
    ScanOptions,
    ScanSpec,
    ServiceInfo,
    ShardPlan,
    TlsAudit,
)


def _options(options: ScanOptions) -> Document:
    return {
        "os_detection": options.os_detection,
        "service_detection": options.service_detection,
        "ssl_check": options.ssl_check,
        "fast_mode": options.fast_mode,
    }


def counts_of(value: dict[str, int] | None) -> PortCounts:
    return PortCounts().plus(value or {})


def scan_to_doc(scan: Scan) -> Document:
    spec = scan.spec
    doc: Document = {
        "_id": scan.id,
        "org_id": scan.owner.org_id,
        "user_id": scan.owner.user_id,
        "sandbox": scan.owner.sandbox,
        "targets": list(spec.targets),
        "scan_type": spec.scan_type,
        "ports": spec.ports,
        "port_count": scan.port_count,
        "options": _options(spec.options),
        "profile": spec.profile,
        "max_duration_seconds": spec.max_duration_seconds,
        "status": scan.status,
        "progress": scan.progress,
        "estimated_duration_seconds": scan.estimated_duration_seconds,
        "excluded_endpoints": list(scan.excluded_endpoints),
        "day": scan.day,
        "attempts": scan.attempts,
        "lease_until": scan.lease.until,
        "stale_at": scan.stale_at,
        "created_at": scan.created_at,
        "sort_key": scan.order_key,
        "shards": _plan(scan.shards),
        "shards_done": scan.shards_done,
    }
    optional: Document = {
        "updated_at": scan.updated_at,
        "started_at": scan.started_at,
        "completed_at": scan.completed_at,
        "counts": scan.counts.as_dict() if scan.counts.total else None,
        "error": {"code": scan.error.code, "message": scan.error.message} if scan.error else None,
        "worker": scan.lease.worker or None,
        "claim": scan.lease.claim or None,
        "cancel_requested": scan.cancel_requested or None,
        "requeues": scan.requeues or None,
        "results_deleted_at": scan.results_deleted_at,
        "rate": spec.rate or None,
        "org_rate": scan.org_rate or None,
        "resumes": scan.resumes or None,
    }
    return {**doc, **{key: value for key, value in optional.items() if value is not None}}


def scan_from_doc(doc: Document) -> Scan:
    error = doc.get("error") or {}
    created = read_time(doc["created_at"])
    assert created is not None
    return Scan(
        id=doc["_id"],
        owner=Owner(doc["user_id"], doc["org_id"], bool(doc.get("sandbox", False))),
        spec=ScanSpec(
            targets=tuple(doc["targets"]),
            scan_type=doc["scan_type"],
            ports=doc["ports"],
            options=ScanOptions(**doc.get("options", {})),
            profile=doc["profile"],
            max_duration_seconds=int(doc["max_duration_seconds"]),
            rate=float(doc.get("rate") or 0.0),
        ),
        created_at=created,
        port_count=int(doc.get("port_count", 0)),
        status=doc["status"],
        progress=int(doc.get("progress", 0)),
        counts=counts_of(doc.get("counts")),
        estimated_duration_seconds=int(doc.get("estimated_duration_seconds", 0)),
        excluded_endpoints=tuple(doc.get("excluded_endpoints", [])),
        updated_at=read_time(doc.get("updated_at")),
        started_at=read_time(doc.get("started_at")),
        completed_at=read_time(doc.get("completed_at")),
        attempts=int(doc.get("attempts", 0)),
        lease=Lease(doc.get("worker") or "", doc.get("claim") or "", float(doc.get("lease_until", 0.0))),
        stale_at=float(doc.get("stale_at", 0.0)),
        requeues=int(doc.get("requeues", 0)),
        cancel_requested=bool(doc.get("cancel_requested", False)),
        error=ScanError(error.get("code", ""), error.get("message", "")) if error else None,
        results_deleted_at=read_time(doc.get("results_deleted_at")),
        shards=ShardPlan(**(doc.get("shards") or {})),
        shards_done=int(doc.get("shards_done", 0)),
        resumes=int(doc.get("resumes", 0)),
        org_rate=float(doc.get("org_rate") or 0.0),
    )


def _plan(plan: ShardPlan) -> Document:
    return {
        "hosts": plan.hosts,
        "ports": plan.ports,
        "hosts_per_shard": plan.hosts_per_shard,
        "ports_per_shard": plan.ports_per_shard,
    }


def port_fields(result: PortResult) -> Document:
    """A port's stored fields; absent parts are left out so an upsert keeps what is there."""
    fields: Document = {"state": result.state, "rtt_ms": result.rtt_ms, "name": result.name}
    if result.service is not None:
        fields["service"] = _service(result.service)
    if result.tls is not None:
        tls, cert = result.tls, result.tls.certificate
        fields["tls"] = {
            "protocols_accepted": list(tls.protocols_accepted),
            "negotiated_protocol": tls.negotiated_protocol,
            "negotiated_cipher": tls.negotiated_cipher,
            "weaknesses": list(tls.weaknesses),
            "certificate": None
            if cert is None
            else {**_plain(cert), "subject_alt_names": list(cert.subject_alt_names)},
        }
    if result.found_at is not None:
        fields["found_at"] = result.found_at
    return fields


def _plain(value: Certificate) -> Document:
    return dict(vars(value))


def _service(service: ServiceInfo) -> Document:
    """Facts are stored as [key, value] pairs: their keys hold dots, which a store reads as paths."""
    return {**vars(service), "facts": [[key, value] for key, value in sorted(service.facts.items())]}


def _service_from(doc: Document) -> ServiceInfo:
    facts = {str(key): str(value) for key, value in doc.get("facts") or []}
    return ServiceInfo(**{**doc, "facts": facts})


def port_from_doc(doc: Document) -> PortResult:
    service, tls = doc.get("service") or None, doc.get("tls") or None
    return PortResult(
        host=doc["host"],
        port=int(doc["port"]),
        state=doc["state"],
        rtt_ms=doc.get("rtt_ms"),
        name=doc.get("name", ""),
        service=_service_from(service) if service else None,
        tls=_tls_from(tls) if tls else None,
        found_at=read_time(doc.get("found_at")),
    )


def _tls_from(tls: dict[str, Any]) -> TlsAudit:
    cert = tls.get("certificate") or None
    certificate = None
    if cert:
        not_before, not_after = read_time(cert["not_before"]), read_time(cert["not_after"])
        assert not_before is not None
        assert not_after is not None
        certificate = Certificate(
            **{
                **cert,
                "subject_alt_names": tuple(cert["subject_alt_names"]),
                "not_before": not_before,
                "not_after": not_after,
            }
        )
    return TlsAudit(
        protocols_accepted=tuple(tls["protocols_accepted"]),
        negotiated_protocol=tls["negotiated_protocol"],
        negotiated_cipher=tls["negotiated_cipher"],
        certificate=certificate,
        weaknesses=tuple(tls["weaknesses"]),
    )


def host_fields(result: HostResult) -> Document:
    os_hint = result.os
    return {
        "name": result.name,
        "counts": result.counts.as_dict(),
        "filtered_ports": list(result.filtered_ports),
        "duration_seconds": result.duration_seconds,
        "os": None
        if os_hint is None
        else {"name": os_hint.name, "confidence": os_hint.confidence, "evidence": list(os_hint.evidence)},
    }


def host_from_doc(doc: Document) -> HostResult:
    os_hint = doc.get("os") or None
    return HostResult(
        host=doc["host"],
        name=doc.get("name", ""),
        counts=counts_of(doc.get("counts")),
        filtered_ports=tuple(doc.get("filtered_ports", [])),
        duration_seconds=float(doc.get("duration_seconds", 0.0)),
        os=OsHint(os_hint["name"], os_hint["confidence"], tuple(os_hint["evidence"])) if os_hint else None,
    )
