"""report-service in memory: ExportScan rendering real exports of StubScan's scans, ExportVulnerabilities
of the records a test gives it."""

from __future__ import annotations

from gateway.tests.stub_services import Call, StubScan, StubService, scan_not_found
from rampart.report.v1 import report_pb2
from rampart.threat.v1 import threat_pb2
from rampart_report.exports import mappers
from rampart_report.exports.model import ScanExport, VulnerabilitySet
from rampart_report.exports.service import render, render_vulnerabilities


class StubExports(StubService):
    """Exports of StubScan's results as report-service would make them."""

    def __init__(self, scan: StubScan) -> None:
        super().__init__()
        self.scan = scan
        self.records: list[threat_pb2.Vulnerability] = []  # what ExportVulnerabilities exports

    def ExportScan(self, request: report_pb2.ExportScanRequest, timeout: float) -> Call:
        def export() -> report_pb2.FileContent:
            scan = self.scan.scans.get(request.scan_id)
            if scan is None or scan.owner.org_id != request.owner.org_id:
                raise scan_not_found(request.scan_id)
            results = self.scan.results[request.scan_id]
            _, _, fmt, kind = mappers.export_request(request)
            ports = tuple(mappers.port_entry(port) for port in results.ports)
            data = ScanExport(mappers.scan_info(scan), ports, findings=())
            return mappers.file_message(render(data, fmt, kind))

        return self._call("ExportScan", request, export)

    def ExportVulnerabilities(self, request: report_pb2.ExportVulnerabilitiesRequest, timeout: float) -> Call:
        def export() -> report_pb2.FileContent:
            requester, chosen, fmt = mappers.vulnerabilities_request(request)
            records = tuple(
                mappers.vulnerability_record(record)
                for record in self.records
                if record.owner.org_id == requester.org_id
            )
            data = VulnerabilitySet(records, chosen.described(), chosen.sort, chosen.descending)
            return mappers.file_message(render_vulnerabilities(data, fmt))

        return self._call("ExportVulnerabilities", request, export)
