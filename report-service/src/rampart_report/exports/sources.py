"""The export's sources over gRPC: scan-service for the scan, threat-service for its findings.

Each call carries the requester's owner, so a scan or a finding of another organisation (or a
live one for a test key) is never read: tenancy is the other service's, by construction.
"""

from __future__ import annotations

import grpc

from rampart.lib.errors import InvalidArgument, RampartError
from rampart.scan.v1 import scan_pb2, scan_pb2_grpc
from rampart.threat.v1 import threat_pb2, threat_pb2_grpc
from rampart_report.exports import mappers
from rampart_report.exports.errors import ExportTooLarge, FindingsUnavailable, ScanNotFound
from rampart_report.exports.model import (
    FindingEntry,
    HistoryPoint,
    PortEntry,
    ScanInfo,
    VulnerabilityFilter,
    VulnerabilityRecord,
)
from rampart_report.exports.ports import Requester

TIMEOUT = 15.0  # seconds per call: an export never waits forever on another service
FINDINGS_PAGE = 500
RECORDS_PAGE = 100  # threat-service's largest page


class DependencyUnavailable(RampartError):
    public_code = "SERVICE_UNAVAILABLE"


def _failed(error: grpc.aio.AioRpcError, service: str) -> RampartError:
    if error.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
        return DependencyUnavailable(f"{service} did not answer", service=service)
    return RampartError(f"{service} failed: {error.code().name}", service=service)


class GrpcScanSource:
    """``ScanSource`` over scan-service's GetScanResults and ListScans."""

    def __init__(self, stub: scan_pb2_grpc.ScanServiceStub) -> None:
        self._stub = stub

    async def results(self, requester: Requester, scan_id: str) -> tuple[ScanInfo, tuple[PortEntry, ...]]:
        request = scan_pb2.GetScanResultsRequest(owner=mappers.owner(requester), scan_id=scan_id)
        try:
            reply: scan_pb2.ScanResults = await self._stub.GetScanResults(request, timeout=TIMEOUT)
        except grpc.aio.AioRpcError as error:
            if error.code() is grpc.StatusCode.NOT_FOUND:
                raise ScanNotFound("scan not found", scan_id=scan_id) from error
            raise _failed(error, "scan-service") from error
        return mappers.scan_info(reply.scan), tuple(mappers.port_entry(port) for port in reply.ports)

    async def history(self, requester: Requester, scan: ScanInfo, limit: int) -> tuple[HistoryPoint, ...]:
        if not scan.targets:
            return ()
        request = scan_pb2.ListScansRequest(
            owner=mappers.owner(requester),
            target=scan.targets[0],
            status=scan_pb2.SCAN_STATUS_COMPLETED,
        )
        request.page.per_page, request.page.sort, request.page.descending = 100, "created_at", True
        try:
            reply: scan_pb2.ListScansResponse = await self._stub.ListScans(request, timeout=TIMEOUT)
        except grpc.aio.AioRpcError as error:
            raise _failed(error, "scan-service") from error
        same = sorted(scan.targets)
        points = [
            point
            for listed in reply.scans
            if sorted(listed.targets) == same and (point := mappers.history_point(listed)) is not None
        ]
        return tuple(sorted(points, key=lambda point: point.completed_at)[-limit:])


class GrpcFindingSource:
    """``FindingSource`` over threat-service's ListVulnerabilities with the scan_id filter."""

    def __init__(self, stub: threat_pb2_grpc.ThreatServiceStub) -> None:
        self._stub = stub

    async def findings(self, requester: Requester, scan_id: str) -> tuple[FindingEntry, ...]:
        found: list[FindingEntry] = []
        cursor = ""
        while True:
            request = threat_pb2.ListVulnerabilitiesRequest(owner=mappers.owner(requester), scan_id=scan_id)
            page = request.page
            page.per_page, page.cursor, page.sort = FINDINGS_PAGE, cursor, "first_seen"
            try:
                reply = await self._stub.ListVulnerabilities(request, timeout=TIMEOUT)
            except grpc.aio.AioRpcError as error:
                raise FindingsUnavailable(f"threat-service answered {error.code().name}") from error
            found.extend(mappers.finding_entry(message) for message in reply.vulnerabilities)
            cursor = reply.page.next_cursor
            if not cursor or not reply.vulnerabilities:
                return tuple(found)


class GrpcVulnerabilitySource:
    """``VulnerabilitySource`` over threat-service's ListVulnerabilities, page by page with the cursor."""

    def __init__(self, stub: threat_pb2_grpc.ThreatServiceStub) -> None:
        self._stub = stub

    async def records(
        self, requester: Requester, chosen: VulnerabilityFilter, limit: int
    ) -> tuple[VulnerabilityRecord, ...]:
        found: list[VulnerabilityRecord] = []
        cursor = ""
        while True:
            request = mappers.list_request(requester, chosen, RECORDS_PAGE, cursor)
            try:
                reply = await self._stub.ListVulnerabilities(request, timeout=TIMEOUT)
            except grpc.aio.AioRpcError as error:
                if error.code() is grpc.StatusCode.INVALID_ARGUMENT:
                    raise InvalidArgument(error.details() or "invalid filter") from error
                raise _failed(error, "threat-service") from error
            if not cursor and reply.page.total > limit:
                raise ExportTooLarge(
                    f"{reply.page.total} records match; an export holds at most {limit}: narrow the filters",
                    limit=limit,
                    matched=reply.page.total,
                )
            found.extend(mappers.vulnerability_record(message) for message in reply.vulnerabilities)
            cursor = reply.page.next_cursor
            if not cursor or not reply.vulnerabilities or len(found) >= limit:
                return tuple(found[:limit])
