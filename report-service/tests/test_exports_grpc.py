"""ExportScan over gRPC with mutual TLS: the gateway asks report-service, which reads the scan from a
scan-service-shaped server as the "report" identity, passing the caller's owner on."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest

from rampart.common.v1 import common_pb2
from rampart.lib.errors import error_from_metadata
from rampart.lib.grpcclient import open_channel
from rampart.lib.grpcserver import Context, ServiceBinding, create_server
from rampart.report.v1 import report_pb2, report_pb2_grpc
from rampart.scan.v1 import scan_pb2, scan_pb2_grpc
from rampart.threat.v1 import threat_pb2, threat_pb2_grpc
from rampart_devtools.pki import DevCA
from rampart_report.api import ReportServicer
from rampart_report.exports.service import ExportService
from rampart_report.exports.sources import GrpcFindingSource, GrpcScanSource
from rampart_report.service import TimelineService

pytestmark = pytest.mark.service


class ScanServer(scan_pb2_grpc.ScanServiceServicer):
    """org_a's completed scan_1 with one open port whose banner tries markup; anyone else: NOT_FOUND."""

    def __init__(self) -> None:
        self.owners: list[common_pb2.Owner] = []

    async def GetScanResults(self, request: Any, context: Context) -> scan_pb2.ScanResults:
        self.owners.append(request.owner)
        if (request.owner.org_id, request.scan_id) != ("org_a", "scan_1"):
            await context.abort(grpc.StatusCode.NOT_FOUND, "no such scan")
        scan = scan_pb2.Scan(scan_id="scan_1", targets=["127.0.0.1"], status=scan_pb2.SCAN_STATUS_COMPLETED)
        port = scan_pb2.PortResult(
            host="127.0.0.1", port=6379, protocol="tcp", state=scan_pb2.PORT_STATE_OPEN
        )
        port.service.name, port.service.evidence = "redis", "<b>-ERR</b>"
        return scan_pb2.ScanResults(scan=scan, ports=[port])

    async def ListScans(self, request: Any, context: Context) -> scan_pb2.ListScansResponse:
        self.owners.append(request.owner)
        return scan_pb2.ListScansResponse()


class ThreatServer(threat_pb2_grpc.ThreatServiceServicer):
    """No findings recorded, unless ``records`` is set: those, two pages of them, for org_a's scan_1."""

    def __init__(self) -> None:
        self.records: list[Any] = []
        self.asked: list[Any] = []

    async def ListVulnerabilities(self, request: Any, context: Context) -> Any:
        self.asked.append(request)
        if (request.owner.org_id, request.scan_id) != ("org_a", "scan_1") or not self.records:
            return threat_pb2.ListVulnerabilitiesResponse()
        first = not request.page.cursor
        reply = threat_pb2.ListVulnerabilitiesResponse(
            vulnerabilities=self.records[:1] if first else self.records[1:]
        )
        reply.page.next_cursor = "page2" if first else ""
        return reply


@dataclass
class Platform:
    report: report_pb2_grpc.ReportServiceStub
    scans: ScanServer
    threat: ThreatServer


async def serve(ca: DevCA, identity: str, binding: ServiceBinding) -> tuple[grpc.aio.Server, int]:
    server, port, _ = await create_server(identity, [binding], "127.0.0.1", 0, ca.issue(identity))
    await server.start()
    return server, port


@pytest.fixture
async def platform(tmp_path: Path) -> AsyncIterator[Platform]:
    ca = DevCA(tmp_path / "pki")
    scans = ScanServer()
    scan_server, scan_port = await serve(
        ca,
        "scan",
        ServiceBinding("rampart.scan.v1.ScanService", scans, scan_pb2_grpc.add_ScanServiceServicer_to_server),
    )
    threat = ThreatServer()
    threat_server, threat_port = await serve(
        ca,
        "threat",
        ServiceBinding(
            "rampart.threat.v1.ThreatService",
            threat,
            threat_pb2_grpc.add_ThreatServiceServicer_to_server,
        ),
    )
    as_report = ca.issue("report")
    scan_channel = open_channel(f"127.0.0.1:{scan_port}", as_report)
    threat_channel = open_channel(f"127.0.0.1:{threat_port}", as_report)
    exports = ExportService(
        GrpcScanSource(scan_pb2_grpc.ScanServiceStub(scan_channel)),
        GrpcFindingSource(threat_pb2_grpc.ThreatServiceStub(threat_channel)),
    )
    servicer = ReportServicer(TimelineService(None), None, exports)  # type: ignore[arg-type]  # timelines, webhooks unused
    report_server, report_port = await serve(
        ca,
        "report",
        ServiceBinding(
            "rampart.report.v1.ReportService", servicer, report_pb2_grpc.add_ReportServiceServicer_to_server
        ),
    )
    gateway_channel = open_channel(f"127.0.0.1:{report_port}", ca.issue("gateway"))
    yield Platform(report_pb2_grpc.ReportServiceStub(gateway_channel), scans, threat)
    for channel in (gateway_channel, scan_channel, threat_channel):
        await channel.close()
    for server in (report_server, scan_server, threat_server):
        await server.stop(None)


def request(org_id: str, fmt: int) -> report_pb2.ExportScanRequest:
    owner = common_pb2.Owner(org_id=org_id, user_id="u", mode=common_pb2.KEY_MODE_LIVE)
    return report_pb2.ExportScanRequest(owner=owner, scan_id="scan_1", format=fmt)


async def test_an_export_reads_the_scan_as_the_callers_organisation(platform: Platform) -> None:
    reply = await platform.report.ExportScan(request("org_a", report_pb2.FORMAT_JSON), timeout=30)
    body = json.loads(reply.content)
    assert (reply.filename, body["scan"]["scan_id"]) == ("scan_1.json", "scan_1")
    assert body["ports"][0]["evidence"] == "<b>-ERR</b>"
    assert body["findings"] == []  # threat-service recorded none
    assert {(o.org_id, o.mode) for o in platform.scans.owners} == {("org_a", common_pb2.KEY_MODE_LIVE)}


async def test_another_organisations_scan_is_scan_not_found_over_the_wire(platform: Platform) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await platform.report.ExportScan(request("org_b", report_pb2.FORMAT_PDF), timeout=30)
    assert refused.value.code() is grpc.StatusCode.NOT_FOUND
    code, details = error_from_metadata(refused.value.trailing_metadata())
    assert (code, details) == ("SCAN_NOT_FOUND", {"scan_id": "scan_1"})


async def test_the_html_export_over_the_wire_escapes_the_banner(platform: Platform) -> None:
    reply = await platform.report.ExportScan(request("org_a", report_pb2.FORMAT_HTML), timeout=30)
    assert reply.content_type == "text/html; charset=utf-8"
    assert b"&lt;b&gt;-ERR&lt;/b&gt;" in reply.content
    assert b"<b>-ERR" not in reply.content


async def test_the_scans_findings_come_from_the_vulnerability_ledger_page_by_page(platform: Platform) -> None:
    tls = threat_pb2.Vulnerability(
        fingerprint="ab" * 16,
        type=threat_pb2.VULNERABILITY_TYPE_MISCONFIGURATION,
        host="127.0.0.1",
        port=6379,
        protocol="tcp",
        rule_id="RMP-AUTH-001",
        title="Redis answers without authentication",
        severity=common_pb2.SEVERITY_HIGH,
        cwe=["CWE-306"],
        evidence={"redis.auth": "none"},
        confidence="confirmed",
    )
    cve = threat_pb2.Vulnerability(
        fingerprint="cd" * 16,
        type=threat_pb2.VULNERABILITY_TYPE_VULNERABLE_SERVICE,
        host="127.0.0.1",
        port=6379,
        protocol="tcp",
        cve="CVE-2021-32675",
        title="Redis proto parsing denial of service",
        severity=common_pb2.SEVERITY_HIGH,
        cvss_score=7.5,
        kev=True,
    )
    platform.threat.records = [tls, cve]
    reply = await platform.report.ExportScan(request("org_a", report_pb2.FORMAT_JSON), timeout=30)
    findings = json.loads(reply.content)["findings"]
    assert [(f["id"], f["type"], f["fingerprint"]) for f in findings] == [
        ("RMP-AUTH-001", "misconfiguration", "ab" * 16),
        ("CVE-2021-32675", "vulnerable_service", "cd" * 16),
    ]
    assert (findings[0]["evidence"], findings[1]["cvss_score"], findings[1]["kev"]) == (
        {"redis.auth": "none"},
        7.5,
        True,
    )
    assert [(r.owner.org_id, r.scan_id, r.page.cursor) for r in platform.threat.asked] == [
        ("org_a", "scan_1", ""),
        ("org_a", "scan_1", "page2"),
    ]
