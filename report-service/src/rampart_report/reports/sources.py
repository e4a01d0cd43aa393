"""The diff and the scans of a period over gRPC: scan-service's DiffScans and ListScans,
threat-service's GetAsset. Every call carries the requester's owner (tenancy is theirs)."""

from __future__ import annotations

from datetime import datetime

import grpc

from rampart.lib.errors import RampartError, error_from_metadata
from rampart.lib.ids import from_timestamp
from rampart.scan.v1 import scan_pb2, scan_pb2_grpc
from rampart.threat.v1 import threat_pb2, threat_pb2_grpc
from rampart_report.exports import mappers as export_mappers
from rampart_report.exports.errors import ScanNotFound
from rampart_report.exports.model import ScanInfo
from rampart_report.exports.ports import Requester
from rampart_report.exports.sources import TIMEOUT, DependencyUnavailable
from rampart_report.reports.diff import (
    Certificate,
    CertificateChange,
    CertificateExpiry,
    PortChange,
    ResultsDiff,
    Service,
    ServiceChange,
)
from rampart_report.reports.model import AssetNotFound, NoScanToCompare, ScanNotFinished

PAGE = 100
MAX_LISTED = 1000  # scans read for one report over a period (newest first)
REFUSALS: dict[str, type[RampartError]] = {
    "SCAN_NOT_FOUND": ScanNotFound,
    "SCAN_NOT_FINISHED": ScanNotFinished,
    "NO_SCAN_TO_COMPARE": NoScanToCompare,
    "ASSET_NOT_FOUND": AssetNotFound,
}


def _passed_on(error: grpc.aio.AioRpcError, service: str) -> RampartError:
    """The other service's refusal as our own error (same public code), or its being away."""
    code, details = error_from_metadata(error.trailing_metadata())  # type: ignore[arg-type]
    refusal = REFUSALS.get(code or "")
    if refusal is not None:
        return refusal(error.details() or code or "", **details)
    if error.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
        return DependencyUnavailable(f"{service} did not answer", service=service)
    return RampartError(f"{service} failed: {error.code().name}", service=service)


def _service(info: scan_pb2.ServiceInfo) -> Service:
    return Service(info.name, info.product, info.version)


def _certificate(message: scan_pb2.Certificate) -> Certificate:
    key = f"{message.key_type} {message.key_bits}".strip() if message.key_type else ""
    return Certificate(message.subject, message.issuer, from_timestamp(message.not_after), key)


def _optional(parent: scan_pb2.CertificateChange, field: str) -> Certificate | None:
    return _certificate(getattr(parent, field)) if parent.HasField(field) else None  # type: ignore[arg-type]


def results_diff(reply: scan_pb2.ScanDiff) -> ResultsDiff:
    return ResultsDiff(
        scan=export_mappers.scan_info(reply.scan),
        against=export_mappers.scan_info(reply.against),
        hosts_up=tuple(reply.hosts_up),
        hosts_down=tuple(reply.hosts_down),
        ports_opened=tuple(
            PortChange(c.host, c.port, c.protocol, _service(c.service)) for c in reply.ports_opened
        ),
        ports_closed=tuple(
            PortChange(c.host, c.port, c.protocol, _service(c.service)) for c in reply.ports_closed
        ),
        services_changed=tuple(
            ServiceChange(c.host, c.port, c.protocol, _service(c.before), _service(c.after))
            for c in reply.services_changed
        ),
        certificates_changed=tuple(
            CertificateChange(c.host, c.port, c.protocol, _optional(c, "before"), _optional(c, "after"))
            for c in reply.certificates_changed
        ),
        certificates_expiring=tuple(
            CertificateExpiry(c.host, c.port, c.protocol, _certificate(c.certificate), c.days_left)
            for c in reply.certificates_expiring
        ),
    )


class GrpcDiffSource:
    """``DiffSource`` over scan-service's DiffScans."""

    def __init__(self, stub: scan_pb2_grpc.ScanServiceStub) -> None:
        self._stub = stub

    async def diff(self, requester: Requester, scan_id: str, against: str) -> ResultsDiff:
        request = scan_pb2.DiffScansRequest(
            owner=export_mappers.owner(requester), scan_id=scan_id, against_scan_id=against
        )
        try:
            reply: scan_pb2.ScanDiff = await self._stub.DiffScans(request, timeout=TIMEOUT)
        except grpc.aio.AioRpcError as error:
            raise _passed_on(error, "scan-service") from error
        return results_diff(reply)


class GrpcScanFinder:
    """``ScanFinder`` over scan-service's ListScans (created in the period, completed) and
    threat-service's GetAsset."""

    def __init__(
        self, scans: scan_pb2_grpc.ScanServiceStub, threats: threat_pb2_grpc.ThreatServiceStub
    ) -> None:
        self._scans = scans
        self._threats = threats

    async def completed(self, requester: Requester, start: datetime, end: datetime) -> tuple[ScanInfo, ...]:
        found: list[ScanInfo] = []
        cursor = ""
        while len(found) < MAX_LISTED:
            request = scan_pb2.ListScansRequest(
                owner=export_mappers.owner(requester), status=scan_pb2.SCAN_STATUS_COMPLETED
            )
            request.created.after.FromDatetime(start)
            request.created.before.FromDatetime(end)
            page = request.page
            page.per_page, page.sort, page.descending, page.cursor = PAGE, "created_at", True, cursor
            try:
                reply: scan_pb2.ListScansResponse = await self._scans.ListScans(request, timeout=TIMEOUT)
            except grpc.aio.AioRpcError as error:
                raise _passed_on(error, "scan-service") from error
            found.extend(export_mappers.scan_info(scan) for scan in reply.scans)
            cursor = reply.page.next_cursor
            if not cursor or not reply.scans:
                break
        return tuple(found[:MAX_LISTED])

    async def asset_hosts(self, requester: Requester, asset_id: str) -> tuple[str, ...]:
        request = threat_pb2.GetAssetRequest(owner=export_mappers.owner(requester), asset_id=asset_id)
        try:
            asset: threat_pb2.Asset = await self._threats.GetAsset(request, timeout=TIMEOUT)
        except grpc.aio.AioRpcError as error:
            if error.code() is grpc.StatusCode.NOT_FOUND:
                raise AssetNotFound("asset not found", asset_id=asset_id) from error
            raise _passed_on(error, "threat-service") from error
        return tuple(dict.fromkeys([asset.host, *asset.addresses]))
