"""gRPC entry point for scan-service: decode, call the service layer, encode."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from rampart.common.v1 import common_pb2
from rampart.lib.enums import enum_of
from rampart.lib.grpcserver import Context
from rampart.lib.ids import from_timestamp, to_timestamp
from rampart.lib.logging import current_request_id
from rampart.lib.store import Document, read_time
from rampart.scan.v1 import scan_pb2, scan_pb2_grpc
from rampart_scan import domain
from rampart_scan.events import STATUSES, owner_of
from rampart_scan.service import ScanCommands

STATES = {
    "open": scan_pb2.PORT_STATE_OPEN,
    "closed": scan_pb2.PORT_STATE_CLOSED,
    "filtered": scan_pb2.PORT_STATE_FILTERED,
}


def counts_message(counts: dict[str, int] | None) -> scan_pb2.PortCounts:
    counts = counts or {}
    return scan_pb2.PortCounts(
        open=counts.get("open", 0),
        closed=counts.get("closed", 0),
        filtered=counts.get("filtered", 0),
        total_scanned=sum(counts.values()),
    )


def scan_to_proto(doc: Document) -> scan_pb2.Scan:
    started = read_time(doc.get("started_at"))
    estimate = doc.get("estimated_duration_seconds", 0)
    completion = (started or read_time(doc["created_at"]) or datetime.now(UTC)) + timedelta(seconds=estimate)
    error = doc.get("error") or {}
    return scan_pb2.Scan(
        scan_id=doc["_id"],
        owner=owner_of(doc),
        targets=doc["targets"],
        scan_type=enum_of(scan_pb2.ScanType, doc["scan_type"]),
        ports=doc["ports"],
        options=scan_pb2.ScanOptions(**doc.get("options", {})),
        profile=enum_of(scan_pb2.ScanProfile, doc["profile"]),
        max_duration_seconds=doc["max_duration_seconds"],
        status=STATUSES[doc["status"]],
        progress=100 if doc["status"] == domain.COMPLETED else int(doc.get("progress", 0)),
        counts=counts_message(doc.get("counts")),
        created_at=to_timestamp(read_time(doc["created_at"])),
        started_at=to_timestamp(started),
        completed_at=to_timestamp(read_time(doc.get("completed_at"))),
        estimated_duration_seconds=estimate,
        estimated_completion=to_timestamp(completion if doc["status"] in domain.ACTIVE_STATES else None),
        error=scan_pb2.ScanError(code=error.get("code", ""), message=error.get("message", "")),
        sandbox=doc.get("sandbox", False),
        excluded_endpoints=doc.get("excluded_endpoints", []),
        updated_at=to_timestamp(read_time(doc.get("updated_at"))),
    )


def service_message(service: dict[str, Any] | None) -> scan_pb2.ServiceInfo | None:
    if not service:
        return None
    fields = ("name", "product", "version", "extra_info", "cpe", "confidence", "evidence")
    return scan_pb2.ServiceInfo(**{k: service[k] for k in fields if k in service})


def tls_message(tls: dict[str, Any] | None) -> scan_pb2.TlsAudit | None:
    if not tls:
        return None
    cert = tls.get("certificate") or None
    certificate = None
    if cert:
        certificate = scan_pb2.Certificate(
            subject=cert["subject"],
            issuer=cert["issuer"],
            subject_alt_names=cert["subject_alt_names"],
            not_before=to_timestamp(read_time(cert["not_before"])),
            not_after=to_timestamp(read_time(cert["not_after"])),
            key_type=cert["key_type"],
            key_bits=cert["key_bits"],
            signature_algorithm=cert["signature_algorithm"],
            self_signed=cert["self_signed"],
            expired=cert["expired"],
            not_yet_valid=cert["not_yet_valid"],
            hostname_mismatch=cert["hostname_mismatch"],
        )
    return scan_pb2.TlsAudit(
        protocols_accepted=tls["protocols_accepted"],
        negotiated_protocol=tls["negotiated_protocol"],
        negotiated_cipher=tls["negotiated_cipher"],
        certificate=certificate,
        weaknesses=tls["weaknesses"],
    )


def port_to_proto(doc: Document) -> scan_pb2.PortResult:
    return scan_pb2.PortResult(
        host=doc["host"],
        port=doc["port"],
        protocol="tcp",
        state=STATES[doc["state"]],
        service=service_message(doc.get("service")),
        tls=tls_message(doc.get("tls")),
        rtt_ms=doc.get("rtt_ms") or 0.0,
    )


def host_to_proto(doc: Document) -> scan_pb2.HostResult:
    os_hint = doc.get("os") or None
    return scan_pb2.HostResult(
        host=doc["host"],
        name=doc.get("name", ""),
        counts=counts_message(doc.get("counts")),
        os=scan_pb2.OsHint(
            name=os_hint["name"], confidence=os_hint["confidence"], evidence="; ".join(os_hint["evidence"])
        )
        if os_hint
        else None,
        filtered_ports=doc.get("filtered_ports", []),
        duration_seconds=doc.get("duration_seconds", 0.0),
    )


class ScanServicer(scan_pb2_grpc.ScanServiceServicer):
    """The scan lifecycle over gRPC."""

    def __init__(self, commands: ScanCommands) -> None:
        self._commands = commands

    async def CreateScan(self, request: scan_pb2.CreateScanRequest, context: Context) -> scan_pb2.Scan:
        doc = await self._commands.create(request, request.request_id or current_request_id())
        if doc.get("replayed"):
            await context.send_initial_metadata((("rampart-idempotent-replay", "true"),))
        return scan_to_proto(doc)

    async def GetScan(self, request: scan_pb2.GetScanRequest, context: Context) -> scan_pb2.Scan:
        return scan_to_proto(await self._commands.get(request.owner, request.scan_id))

    async def ListScans(
        self, request: scan_pb2.ListScansRequest, context: Context
    ) -> scan_pb2.ListScansResponse:
        docs, page = await self._commands.list_scans(request)
        return scan_pb2.ListScansResponse(
            scans=[scan_to_proto(d) for d in docs], page=common_pb2.PageInfo(**page)
        )

    async def CancelScan(self, request: scan_pb2.CancelScanRequest, context: Context) -> scan_pb2.Scan:
        return scan_to_proto(
            await self._commands.cancel(request.owner, request.scan_id, current_request_id())
        )

    async def GetScanResults(
        self, request: scan_pb2.GetScanResultsRequest, context: Context
    ) -> scan_pb2.ScanResults:
        doc, ports, hosts = await self._commands.results(request.owner, request.scan_id)
        started, finished = read_time(doc.get("started_at")), read_time(doc.get("completed_at"))
        return scan_pb2.ScanResults(
            scan=scan_to_proto(doc),
            summary=counts_message(doc.get("counts")),
            ports=[port_to_proto(p) for p in ports],
            hosts=[host_to_proto(h) for h in hosts],
            duration_seconds=(finished - started).total_seconds() if started and finished else 0.0,
        )

    async def DeleteScanResults(
        self, request: scan_pb2.DeleteScanResultsRequest, context: Context
    ) -> scan_pb2.DeleteScanResultsResponse:
        deleted = await self._commands.delete_results(request.owner, request.scan_id)
        return scan_pb2.DeleteScanResultsResponse(deleted_ports=deleted)

    async def GetUsage(self, request: scan_pb2.GetUsageRequest, context: Context) -> scan_pb2.Usage:
        since = from_timestamp(request.since) or datetime(1970, 1, 1, tzinfo=UTC)
        return await self._commands.usage(request.owner, since)
