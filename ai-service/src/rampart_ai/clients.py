"""The ports over gRPC: scan-service and threat-service, called with the caller as owner.

ai-service's certificate (identity ``ai``) is allowed to call ScanService and ThreatService
(rampart.lib.callers); every request carries the asking caller's ``Owner``, so the owning
service scopes the read to that organisation. NOT_FOUND becomes the domain's not-found error
(a 404 for the client, whoever's object it was); UNAVAILABLE, DEADLINE_EXCEEDED and
UNIMPLEMENTED become ``SourceUnavailable`` and a gap in the answer.
"""

from __future__ import annotations

import grpc

from rampart.common.v1 import common_pb2
from rampart.scan.v1 import scan_pb2, scan_pb2_grpc
from rampart.threat.v1 import threat_pb2, threat_pb2_grpc
from rampart_ai import mappers
from rampart_ai.domain import (
    Caller,
    CveFact,
    CveVerdict,
    DependencyUnavailable,
    IncidentFact,
    IncidentNotFound,
    PortFact,
    ScanFacts,
    ScanNotFound,
    VulnerabilityNotFound,
    VulnFact,
)
from rampart_ai.ports import SourceUnavailable

TIMEOUT = 10.0
PAGE = 100  # threat-service serves at most 100 records a page
MAX_FINDINGS = 1_000
DEGRADED = {
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.UNIMPLEMENTED,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
}


def _unavailable(error: grpc.aio.AioRpcError, what: str) -> SourceUnavailable:
    return SourceUnavailable(f"{what} ({error.code().name.lower()})")


def _failed(error: grpc.aio.AioRpcError, what: str) -> Exception:
    """A call the answer cannot do without: 503 when the owner is down, else the error as is."""
    if error.code() in DEGRADED:
        return DependencyUnavailable(f"{what} did not answer", status=error.code().name)
    return error


class GrpcScans:
    """scan-service: GetScan, GetScanResults, ListScans."""

    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._stub = scan_pb2_grpc.ScanServiceStub(channel)

    async def get(self, caller: Caller, scan_id: str) -> ScanFacts:
        owner = mappers.owner(caller)
        try:
            scan = await self._stub.GetScan(
                scan_pb2.GetScanRequest(owner=owner, scan_id=scan_id), timeout=TIMEOUT
            )
        except grpc.aio.AioRpcError as error:
            if error.code() is grpc.StatusCode.NOT_FOUND:
                raise ScanNotFound("scan not found", scan_id=scan_id) from error
            raise _failed(error, "scan-service") from error
        if scan.status == scan_pb2.SCAN_STATUS_QUEUED:
            return mappers.scan_facts(scan)
        try:
            results = await self._stub.GetScanResults(
                scan_pb2.GetScanResultsRequest(owner=owner, scan_id=scan_id), timeout=TIMEOUT
            )
        except grpc.aio.AioRpcError as error:
            if error.code() in {grpc.StatusCode.NOT_FOUND, grpc.StatusCode.FAILED_PRECONDITION}:
                return mappers.scan_facts(scan)  # no results (yet, or deleted)
            raise _failed(error, "scan-service") from error
        return mappers.scan_facts(scan, results)

    async def recent(self, caller: Caller, target: str = "", limit: int = 10) -> list[ScanFacts]:
        request = scan_pb2.ListScansRequest(
            owner=mappers.owner(caller),
            target=target,
            page=common_pb2.PageRequest(page=1, per_page=limit, sort="created_at", descending=True),
        )
        try:
            reply = await self._stub.ListScans(request, timeout=TIMEOUT)
        except grpc.aio.AioRpcError as error:
            if error.code() is grpc.StatusCode.INVALID_ARGUMENT:
                return []  # not a target scan-service can hold: the caller has no scan of it
            raise _failed(error, "scan-service") from error
        return [mappers.scan_facts(scan) for scan in reply.scans]


class GrpcFindings:
    """threat-service's ListVulnerabilities / GetVulnerability (the shape needed: docs/assistant.md)."""

    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._stub = threat_pb2_grpc.ThreatServiceStub(channel)

    async def _list(self, request: threat_pb2.ListVulnerabilitiesRequest) -> list[VulnFact]:
        found: list[VulnFact] = []
        request.page.per_page = PAGE
        while len(found) < MAX_FINDINGS:
            try:
                reply = await self._stub.ListVulnerabilities(request, timeout=TIMEOUT)
            except grpc.aio.AioRpcError as error:  # findings enrich an answer: any failure is a gap
                raise _unavailable(error, "threat-service ListVulnerabilities") from error
            found += [mappers.vuln_fact(v) for v in reply.vulnerabilities]
            if not reply.page.next_cursor:
                break
            request.page.cursor = reply.page.next_cursor
        return found

    async def for_scan(self, caller: Caller, scan_id: str) -> list[VulnFact]:
        return await self._list(
            threat_pb2.ListVulnerabilitiesRequest(owner=mappers.owner(caller), scan_id=scan_id)
        )

    async def for_host(self, caller: Caller, host: str) -> list[VulnFact]:
        return await self._list(threat_pb2.ListVulnerabilitiesRequest(owner=mappers.owner(caller), host=host))

    async def get(self, caller: Caller, vulnerability_id: str) -> VulnFact:
        try:
            reply = await self._stub.GetVulnerability(
                threat_pb2.GetVulnerabilityRequest(
                    owner=mappers.owner(caller), vulnerability_id=vulnerability_id
                ),
                timeout=TIMEOUT,
            )
        except grpc.aio.AioRpcError as error:
            if error.code() in {grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT}:
                raise VulnerabilityNotFound(
                    "vulnerability not found", vulnerability_id=vulnerability_id
                ) from error
            raise _unavailable(error, "threat-service GetVulnerability") from error
        return mappers.vuln_fact(reply)


class GrpcThreats:
    """threat-service's incidents and catalogue."""

    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._stub = threat_pb2_grpc.ThreatServiceStub(channel)

    async def incident(self, caller: Caller, incident_id: str) -> IncidentFact:
        try:
            reply = await self._stub.GetIncident(
                threat_pb2.GetIncidentRequest(owner=mappers.owner(caller), incident_id=incident_id),
                timeout=TIMEOUT,
            )
        except grpc.aio.AioRpcError as error:
            if error.code() is grpc.StatusCode.NOT_FOUND:
                raise IncidentNotFound("incident not found", incident_id=incident_id) from error
            raise _failed(error, "threat-service") from error
        return mappers.incident_fact(reply)

    async def cve(self, caller: Caller, cve_id: str) -> CveFact | None:
        try:
            entry = await self._stub.GetCatalogEntry(
                threat_pb2.GetCatalogEntryRequest(owner=mappers.owner(caller), cve_id=cve_id), timeout=TIMEOUT
            )
        except grpc.aio.AioRpcError as error:
            if error.code() is grpc.StatusCode.NOT_FOUND:
                return None
            raise _unavailable(error, "threat-service GetCatalogEntry") from error
        return mappers.cve_fact(entry)

    async def match(self, caller: Caller, port: PortFact, cve_id: str) -> CveVerdict:
        try:
            reply = await self._stub.MatchCatalog(
                threat_pb2.MatchCatalogRequest(
                    owner=mappers.owner(caller),
                    cpe=port.cpe,
                    product=port.product,
                    version=port.version,
                    banner=port.banner,
                ),
                timeout=TIMEOUT,
            )
        except grpc.aio.AioRpcError as error:
            raise _unavailable(error, "threat-service MatchCatalog") from error
        match = next((m for m in reply.matches if m.cve_id == cve_id), None)
        if match is None:
            return CveVerdict(port, cve_id, "not_listed")
        return CveVerdict(port, cve_id, match.verdict, match.reason, match.confidence)
