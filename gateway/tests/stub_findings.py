"""threat-service's scan findings in memory: what the pipeline announced per scan, per organisation."""

from __future__ import annotations

from gateway.tests.stub_services import Call, StubService
from rampart.threat.v1 import threat_pb2


class StubScanFindings(StubService):
    def __init__(self) -> None:
        super().__init__()
        self.scan_findings: dict[str, tuple[str, threat_pb2.ScanFindings]] = {}  # scan -> (org, findings)

    def CountScanFindings(self, request: threat_pb2.CountScanFindingsRequest, timeout: float) -> Call:
        def count() -> threat_pb2.CountScanFindingsResponse:
            found = (self.scan_findings.get(scan_id) for scan_id in request.scan_ids)
            return threat_pb2.CountScanFindingsResponse(
                counts=[f.count for org, f in filter(None, found) if org == request.owner.org_id]
            )

        return self._call("CountScanFindings", request, count)

    def ListScanFindings(self, request: threat_pb2.ListScanFindingsRequest, timeout: float) -> Call:
        def listed() -> threat_pb2.ScanFindings:
            org, found = self.scan_findings.get(request.scan_id, ("", threat_pb2.ScanFindings()))
            if org != request.owner.org_id:
                return threat_pb2.ScanFindings(count=threat_pb2.ScanFindingCount(scan_id=request.scan_id))
            return found

        return self._call("ListScanFindings", request, listed)
