"""Scan messages as public JSON, and scan events as named stream events."""

from __future__ import annotations

from typing import Any

from rampart.lib.enums import enum_word
from rampart.scan.v1 import scan_pb2
from rampart_gateway.envelope import when

STATUS = {value: name.removeprefix("SCAN_STATUS_").lower() for name, value in scan_pb2.ScanStatus.items()}
PORT_STATE = {value: name.removeprefix("PORT_STATE_").lower() for name, value in scan_pb2.PortState.items()}
TERMINAL = ("complete", "error")  # the scan's final event
SETTLED = "findings_settled"  # the last event of a scan's stream


def counts(message: scan_pb2.PortCounts) -> dict[str, int]:
    return {
        "total_ports_scanned": message.total_scanned,
        "open_ports": message.open,
        "closed_ports": message.closed,
        "filtered_ports": message.filtered,
    }


def scan_type(message: scan_pb2.Scan) -> str:
    """The public name of the scan's type."""
    return enum_word(scan_pb2.ScanType, message.scan_type)


def profile(message: scan_pb2.Scan) -> str:
    """The public name of the scan's profile ("" when none was given)."""
    return enum_word(scan_pb2.ScanProfile, message.profile)


def scan(message: scan_pb2.Scan) -> dict[str, Any]:
    options = message.options
    return {
        "scan_id": message.scan_id,
        "status": STATUS[message.status],
        "target": message.targets[0] if message.targets else "",
        "targets": list(message.targets),
        "scan_type": scan_type(message),
        "ports": message.ports,
        "profile": profile(message),
        "options": {
            "os_detection": options.os_detection,
            "service_detection": options.service_detection,
            "ssl_check": options.ssl_check,
            "fast_mode": options.fast_mode,
        },
        "max_duration": message.max_duration_seconds / 60,
        "progress": message.progress,
        "created_at": when(message.created_at),
        "started_at": when(message.started_at),
        "completed_at": when(message.completed_at),
        "estimated_duration": message.estimated_duration_seconds,
        "estimated_completion": when(message.estimated_completion),
        "results": {
            "open_ports": message.counts.open,
            "closed_ports": message.counts.closed,
            "filtered_ports": message.counts.filtered,
        },
        "error": {"code": message.error.code, "message": message.error.message}
        if message.error.code
        else None,
        "sandbox": message.sandbox,
        "excluded_endpoints": list(message.excluded_endpoints),
        "rate": message.rate or None,
        "shards": {"total": message.shards, "done": message.shards_done},
        "resumes": message.resumes,
    }


def created(message: scan_pb2.Scan, websocket_url: str, sse_url: str) -> dict[str, Any]:
    """A scan just accepted, with the URLs of its two live streams."""
    view = scan(message)
    return {
        "scan_id": message.scan_id,
        "status": view["status"],
        "target": view["target"],
        "targets": view["targets"],
        "created_at": view["created_at"],
        "estimated_duration": view["estimated_duration"],
        "websocket_url": websocket_url,
        "sse_url": sse_url,
        "sandbox": view["sandbox"],
    }


def page(reply: scan_pb2.ListScansResponse) -> dict[str, Any]:
    """One page of scans and where the next one starts."""
    info = reply.page
    return {
        "items": [scan(s) for s in reply.scans],
        "total": info.total,
        "page": info.page,
        "per_page": info.per_page,
        "pages": info.pages,
        "next_cursor": info.next_cursor or None,
    }


def service(message: scan_pb2.ServiceInfo) -> dict[str, Any] | None:
    if not message.name:
        return None
    return {
        "name": message.name,
        "product": message.product,
        "version": message.version,
        "extra_info": message.extra_info,
        "cpe": message.cpe,
        "confidence": message.confidence,
        "evidence": message.evidence,
        "facts": dict(sorted(message.facts.items())),  # docs/detection.md "Facts"
    }


def tls(message: scan_pb2.TlsAudit) -> dict[str, Any] | None:
    if not message.negotiated_protocol:
        return None
    cert = message.certificate
    return {
        "protocols_accepted": list(message.protocols_accepted),
        "negotiated_protocol": message.negotiated_protocol,
        "negotiated_cipher": message.negotiated_cipher,
        "weaknesses": list(message.weaknesses),
        "certificate": None
        if not cert.subject
        else {
            "subject": cert.subject,
            "issuer": cert.issuer,
            "subject_alt_names": list(cert.subject_alt_names),
            "not_before": when(cert.not_before),
            "not_after": when(cert.not_after),
            "key_type": cert.key_type,
            "key_bits": cert.key_bits,
            "signature_algorithm": cert.signature_algorithm,
            "self_signed": cert.self_signed,
            "expired": cert.expired,
            "not_yet_valid": cert.not_yet_valid,
            "hostname_mismatch": cert.hostname_mismatch,
        },
    }


def port(message: scan_pb2.PortResult) -> dict[str, Any]:
    return {
        "host": message.host,
        "port": message.port,
        "protocol": message.protocol or "tcp",
        "state": PORT_STATE[message.state],
        "rtt_ms": message.rtt_ms or None,
        "service": service(message.service),
        "tls": tls(message.tls),
    }


def results(message: scan_pb2.ScanResults) -> dict[str, Any]:
    summary = scan(message.scan)
    return {
        "scan_id": message.scan.scan_id,
        "target": summary["target"],
        "targets": summary["targets"],
        "scan_type": summary["scan_type"],
        "status": summary["status"],
        "started_at": summary["started_at"],
        "completed_at": summary["completed_at"],
        "duration": round(message.duration_seconds, 3),
        "summary": counts(message.summary),
        "error": summary["error"],
        "sandbox": summary["sandbox"],
        "excluded_endpoints": summary["excluded_endpoints"],
        "ports": [port(p) for p in message.ports],
        "hosts": [
            {
                "host": h.host,
                "name": h.name or None,
                "summary": counts(h.counts),
                "filtered_ports": list(h.filtered_ports),
                "duration": round(h.duration_seconds, 3),
                "os": {"name": h.os.name, "confidence": h.os.confidence, "evidence": h.os.evidence}
                if h.os.name
                else None,
            }
            for h in message.hosts
        ],
    }


def finding_notice(notice: scan_pb2.FindingNotice) -> dict[str, Any]:
    """A finding as the scan's stream shows it (the full record: GET /vulnerabilities/{id})."""
    return {
        "vulnerability_id": notice.vulnerability_id,
        "fingerprint": notice.fingerprint,
        "type": notice.type,
        "severity": notice.severity,
        "title": notice.title,
        "host": notice.host,
        "port": notice.port,
        "protocol": notice.protocol,
        "cve": notice.cve or None,
        "rule_id": notice.rule_id or None,
        "status": notice.status,
        "first_sighting": notice.first_sighting,
        "confidence": notice.confidence,
        "priority": notice.priority,
    }


def findings_settled(settled: scan_pb2.FindingsSettled) -> dict[str, Any]:
    return {
        "findings": settled.findings,
        "by_severity": dict(settled.by_severity),
        "resolved": settled.resolved,
    }


def stream_event(event: scan_pb2.ScanEvent) -> tuple[str, dict[str, Any]]:
    """A stream event name (progress, port_found, service_detected, finding, complete, error,
    findings_settled) and its data."""
    kind = scan_pb2.ScanEventType.Name(event.type).removeprefix("SCAN_EVENT_TYPE_").lower()
    data: dict[str, Any] = {
        "scan_id": event.scan_id,
        "status": STATUS[event.status],
        "at": when(event.occurred_at),
    }
    if kind in ("queued", "started"):
        return "progress", {**data, "progress": 0}
    if kind == "progress":
        return "progress", {
            **data,
            "progress": event.progress.percent,
            "ports_done": event.progress.ports_done,
            "ports_total": event.progress.ports_total,
        }
    if kind in ("port_found", "service_detected"):
        return kind, {**data, **port(event.port)}
    if kind == "finding":
        return kind, {"scan_id": event.scan_id, "at": data["at"], "finding": finding_notice(event.finding)}
    if kind == "findings_settled":
        return kind, {"scan_id": event.scan_id, "at": data["at"], **findings_settled(event.settled)}
    final = {**data, "summary": counts(event.summary), "duration": round(event.duration_seconds, 3)}
    if kind == "completed":
        return "complete", final
    return "error", {**final, "error": {"code": event.error.code, "message": event.error.message}}
