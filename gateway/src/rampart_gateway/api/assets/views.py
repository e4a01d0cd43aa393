"""Asset messages as public JSON."""

from __future__ import annotations

from typing import Any

from rampart.threat.v1 import threat_pb2
from rampart_gateway.envelope import when

CHANGE = {
    value: name.removeprefix("ASSET_PORT_CHANGE_KIND_").lower()
    for name, value in threat_pb2.AssetPortChangeKind.items()
}
SEVERITIES = ("critical", "high", "medium", "low", "info")


def port(message: threat_pb2.AssetPort) -> dict[str, Any]:
    service = message.service
    return {
        "port": message.port,
        "protocol": message.protocol,
        "state": "open" if message.open else "closed",
        "since": when(message.since),
        "first_seen": when(message.first_seen),
        "last_seen": when(message.last_seen),
        "last_scan_id": message.last_scan_id,
        "service": {
            "name": service.name,
            "product": service.product,
            "version": service.version,
            "cpe": service.cpe,
            "tls": service.tls,
        }
        if service.name or service.product
        else None,
    }


def asset(message: threat_pb2.Asset) -> dict[str, Any]:
    counts = dict(message.findings_by_severity)
    return {
        "asset_id": message.asset_id,
        "host": message.host,
        "addresses": list(message.addresses),
        "names": list(message.names),
        "open_ports": [port(p) for p in message.ports],
        "services": sorted({p.service.name for p in message.ports if p.service.name}),
        "os": {
            "name": message.os.name or None,
            "confidence": message.os.confidence,
            "evidence": list(message.os.evidence),
        },
        "findings": {"total": message.findings_total, **{name: counts.get(name, 0) for name in SEVERITIES}},
        "first_seen": when(message.first_seen),
        "last_seen": when(message.last_seen),
        "scans": [{"scan_id": s.scan_id, "at": when(s.at)} for s in message.scans],
        "sandbox": message.sandbox,
    }


def detail(message: threat_pb2.Asset) -> dict[str, Any]:
    return {
        **asset(message),
        "closed_ports": [port(p) for p in message.closed_ports],
        "history": [
            {
                "at": when(h.at),
                "scan_id": h.scan_id,
                "port": h.port,
                "protocol": h.protocol,
                "change": CHANGE[h.kind],
                "before": h.before,
                "after": h.after,
            }
            for h in message.history
        ],
    }


def page(reply: threat_pb2.ListAssetsResponse) -> dict[str, Any]:
    info = reply.page
    return {
        "items": [asset(a) for a in reply.assets],
        "total": info.total,
        "page": info.page,
        "per_page": info.per_page,
        "pages": info.pages,
        "next_cursor": info.next_cursor or None,
    }
