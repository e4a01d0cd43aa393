"""Protobuf ⇄ asset domain: scan events in, asset messages out."""

from __future__ import annotations

from rampart.common.v1 import common_pb2
from rampart.lib.errors import InvalidArgument
from rampart.lib.ids import from_timestamp, to_timestamp
from rampart.scan.v1 import scan_pb2
from rampart.threat.v1 import threat_pb2
from rampart_threat.assets.domain import AssetRecord, Observation, PortChange, PortRecord, Service
from rampart_threat.assets.repository import AssetFilter
from rampart_threat.assets.service import AssetListing, AssetPage

PORT_EVENTS = frozenset({scan_pb2.SCAN_EVENT_TYPE_PORT_FOUND, scan_pb2.SCAN_EVENT_TYPE_SERVICE_DETECTED})
SORTS = {
    threat_pb2.ASSET_SORT_UNSPECIFIED: "last_seen",
    threat_pb2.ASSET_SORT_LAST_SEEN: "last_seen",
    threat_pb2.ASSET_SORT_FIRST_SEEN: "first_seen",
    threat_pb2.ASSET_SORT_HOST: "host",
    threat_pb2.ASSET_SORT_FINDINGS: "findings",
}
SEVERITY_WORDS = {
    common_pb2.SEVERITY_INFO: "info",
    common_pb2.SEVERITY_LOW: "low",
    common_pb2.SEVERITY_MEDIUM: "medium",
    common_pb2.SEVERITY_HIGH: "high",
    common_pb2.SEVERITY_CRITICAL: "critical",
}
CHANGE_KINDS = {
    PortChange.OPENED: threat_pb2.ASSET_PORT_CHANGE_KIND_OPENED,
    PortChange.CLOSED: threat_pb2.ASSET_PORT_CHANGE_KIND_CLOSED,
    PortChange.SERVICE: threat_pb2.ASSET_PORT_CHANGE_KIND_SERVICE,
}


def is_live(owner: common_pb2.Owner) -> bool:
    """Test-key (sandbox) scans and callers have their own inventory; everything else is live."""
    return owner.mode != common_pb2.KEY_MODE_TEST


def observation(event: scan_pb2.ScanEvent) -> Observation | None:
    """The port a port_found / service_detected event reports; None for any other event."""
    if event.type not in PORT_EVENTS or event.WhichOneof("payload") != "port":
        return None
    port = event.port
    at = from_timestamp(event.occurred_at)
    if not port.host or not port.port or at is None:
        return None
    service: Service | None = None
    banner = ""
    names: tuple[str, ...] = ()
    if event.type == scan_pb2.SCAN_EVENT_TYPE_SERVICE_DETECTED:
        info = port.service
        tls = port.HasField("tls") and bool(port.tls.negotiated_protocol or port.tls.protocols_accepted)
        service = Service(info.name, info.product, info.version, info.cpe, tls)
        banner = " ".join((info.evidence, info.extra_info))
        if port.HasField("tls"):
            names = tuple(name for name in port.tls.certificate.subject_alt_names if not name.startswith("*"))
    return Observation(
        scan_id=event.scan_id,
        host=port.host,
        port=port.port,
        protocol=port.protocol or "tcp",
        is_open=port.state == scan_pb2.PORT_STATE_OPEN,
        at=at,
        service=service,
        banner=banner,
        names=names,
    )


def listing(request: threat_pb2.ListAssetsRequest) -> AssetListing:
    if request.sort not in SORTS:
        raise InvalidArgument("unknown sort", field="sort")
    seen = request.seen
    where = AssetFilter(
        org_id=request.owner.org_id,
        live=is_live(request.owner),
        text=request.text.strip(),
        port=request.port,
        service=request.service.strip(),
        os=request.os.strip(),
        has_findings=request.has_findings if request.HasField("has_findings") else None,
        min_severity=SEVERITY_WORDS.get(request.min_severity, ""),
        seen_after=from_timestamp(seen.after) if seen.HasField("after") else None,
        seen_before=from_timestamp(seen.before) if seen.HasField("before") else None,
    )
    return AssetListing(
        where,
        SORTS[request.sort],
        request.ascending,
        request.page,
        request.page_size,
        request.page_token,
    )


def port_message(port: PortRecord) -> threat_pb2.AssetPort:
    service = port.service
    return threat_pb2.AssetPort(
        port=port.port,
        protocol=port.protocol,
        open=port.is_open,
        since=to_timestamp(port.since),
        first_seen=to_timestamp(port.first_seen),
        last_seen=to_timestamp(port.last_seen),
        last_scan_id=port.last_scan_id,
        service=threat_pb2.AssetServiceInfo(
            name=service.name,
            product=service.product,
            version=service.version,
            cpe=service.cpe,
            tls=service.tls,
        ),
    )


def asset_message(record: AssetRecord, detail: bool = False) -> threat_pb2.Asset:
    """The asset; ``detail`` adds its closed ports and its port/service history (GetAsset)."""
    os = record.os
    message = threat_pb2.Asset(
        asset_id=record.asset_id,
        host=record.host,
        addresses=list(record.addresses),
        names=list(record.names),
        ports=[port_message(port) for port in record.open_ports()],
        os=threat_pb2.AssetOsHint(name=os.name, confidence=os.confidence, evidence=list(os.evidence)),
        findings_by_severity=record.findings,
        findings_total=record.findings_total,
        first_seen=to_timestamp(record.first_seen),
        last_seen=to_timestamp(record.last_seen),
        scans=[threat_pb2.AssetScan(scan_id=scan.scan_id, at=to_timestamp(scan.at)) for scan in record.scans],
        sandbox=not record.live,
    )
    if detail:
        closed = sorted(
            (p for p in record.ports.values() if not p.is_open), key=lambda p: (p.port, p.protocol)
        )
        message.closed_ports.extend(port_message(port) for port in closed)
        message.history.extend(
            threat_pb2.AssetPortChange(
                at=to_timestamp(entry.at),
                scan_id=entry.scan_id,
                port=entry.port,
                protocol=entry.protocol,
                kind=CHANGE_KINDS[entry.change],
                before=entry.before,
                after=entry.after,
            )
            for entry in record.history
        )
    return message


def page_message(page: AssetPage) -> threat_pb2.ListAssetsResponse:
    return threat_pb2.ListAssetsResponse(
        assets=[asset_message(record) for record in page.assets],
        page=common_pb2.PageInfo(
            total=page.total,
            page=page.page,
            per_page=page.page_size,
            pages=page.pages,
            next_cursor=page.next_page_token,
        ),
    )
