"""Mutual TLS on the shared gRPC server: who gets through, who is refused, and why."""

from __future__ import annotations

import os
import stat
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from rampart.lib.callers import GRPC_CALLERS, GRPC_METHOD_CALLERS, IDENTITIES, may_call
from rampart.lib.grpcclient import open_channel
from rampart.lib.grpcserver import Context, ServiceBinding, create_health_server, create_server
from rampart.lib.settings import ServiceSettings, SettingsError
from rampart.lib.tls import TlsFiles, tls_files
from rampart.scan.v1 import scan_pb2, scan_pb2_grpc
from rampart_devtools.pki import DevCA

SERVICE = scan_pb2.DESCRIPTOR.services_by_name["ScanService"].full_name


class Servicer(scan_pb2_grpc.ScanServiceServicer):
    """GetScan answers with the scan id it was asked for."""

    async def GetScan(self, request: Any, context: Context) -> scan_pb2.Scan:
        return scan_pb2.Scan(scan_id=request.scan_id)


@pytest.fixture
def ca(tmp_path: Path) -> DevCA:
    authority = DevCA(tmp_path / "pki")
    authority.issue_all()
    return authority


@pytest.fixture
async def port(ca: DevCA) -> AsyncIterator[int]:
    """A scan-service-shaped server with the scan service's own certificate."""
    binding = ServiceBinding(SERVICE, Servicer(), scan_pb2_grpc.add_ScanServiceServicer_to_server)
    server, bound, health = await create_server("unit", [binding], "127.0.0.1", 0, ca.issue("scan"))
    await server.start()
    await health.set("", health_pb2.HealthCheckResponse.SERVING)
    yield bound
    await server.stop(None)


async def get_scan(channel: grpc.aio.Channel) -> str:
    reply = await scan_pb2_grpc.ScanServiceStub(channel).GetScan(
        scan_pb2.GetScanRequest(scan_id="scan_1"), timeout=10
    )
    return str(reply.scan_id)


async def test_the_gateway_identity_may_call_the_scan_service(ca: DevCA, port: int) -> None:
    async with open_channel(f"127.0.0.1:{port}", ca.issue("gateway")) as channel:
        assert await get_scan(channel) == "scan_1"
        assert await get_scan(channel) == "scan_1"  # the same channel, no new handshake


async def test_a_plain_channel_is_refused(port: int) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await get_scan(channel)
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE


async def test_a_certificate_from_another_ca_is_refused(tmp_path: Path, ca: DevCA, port: int) -> None:
    """A self-made 'gateway' certificate does not pass: the server trusts only its CA."""
    forged = DevCA(tmp_path / "other").issue("gateway")
    mixed = TlsFiles(ca.ca_cert_path, forged.cert, forged.key)  # trusts the server, but not trusted
    async with open_channel(f"127.0.0.1:{port}", mixed) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await get_scan(channel)
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE


@pytest.mark.parametrize("identity", [i for i in IDENTITIES if i != "gateway"])
async def test_no_identity_but_the_gateway_may_act_for_an_organisation(
    ca: DevCA, port: int, identity: str
) -> None:
    async with open_channel(f"127.0.0.1:{port}", ca.issue(identity)) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await scan_pb2_grpc.ScanServiceStub(channel).CancelScan(
                scan_pb2.CancelScanRequest(scan_id="scan_1"), timeout=10
            )
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
        assert identity in (refused.value.details() or "")
        # Health stays open to every identity of the platform (the gateway's health check).
        reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())
        assert reply.status == health_pb2.HealthCheckResponse.SERVING


async def test_the_assistant_identity_reads_a_scan_over_mutual_tls(ca: DevCA, port: int) -> None:
    async with open_channel(f"127.0.0.1:{port}", ca.issue("ai")) as channel:
        assert await get_scan(channel) == "scan_1"


async def test_the_probe_port_answers_health_in_plaintext_and_nothing_else() -> None:
    from grpc_health.v1._async import HealthServicer

    health = HealthServicer()
    await health.set("", health_pb2.HealthCheckResponse.SERVING)
    probes, bound = await create_health_server(health, "127.0.0.1", 0)
    await probes.start()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{bound}") as channel:
        reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
        with pytest.raises(grpc.aio.AioRpcError) as missing:
            await get_scan(channel)
        assert missing.value.code() == grpc.StatusCode.UNIMPLEMENTED
    await probes.stop(None)


def test_every_service_rpc_is_gateway_only_and_unknown_services_are_closed() -> None:
    for service, callers in GRPC_CALLERS.items():
        if service.startswith("rampart."):
            assert callers == {"gateway"}
    assert may_call("gateway", "/rampart.scan.v1.ScanService/CreateScan")
    assert not may_call("report", "/rampart.scan.v1.ScanService/CreateScan")
    assert not may_call("scan-worker", "/rampart.scan.v1.ScanService/CreateScan")
    assert not may_call("gateway", "/rampart.future.v1.NewService/Anything")


def test_the_assistant_may_only_read_scans_findings_incidents_and_the_catalogue() -> None:
    assert may_call("ai", "/rampart.scan.v1.ScanService/GetScanResults")
    assert may_call("ai", "/rampart.threat.v1.ThreatService/ListVulnerabilities")
    assert may_call("ai", "/rampart.threat.v1.ThreatService/GetIncident")
    for changing in ("ScanService/CreateScan", "ScanService/CancelScan", "ScanService/DeleteScanResults"):
        assert not may_call("ai", f"/rampart.scan.v1.{changing}")
    for changing in ("UpdateVulnerability", "CreateIncident", "UpdateIncident", "ImportFeed"):
        assert not may_call("ai", f"/rampart.threat.v1.ThreatService/{changing}")
    assert not may_call("ai", "/rampart.auth.v1.AuthService/ValidateApiKey")
    assert not may_call("threat", "/rampart.scan.v1.ScanService/GetScan")


def test_report_service_may_call_only_the_reads_exports_reports_and_compliance_need() -> None:
    """Exports, reports and compliance posture: scans, findings, the payload analysis of evidence
    and the assistant's narrative; change monitoring: a scan's diff and its findings; nothing that writes."""
    assert {m for m, who in GRPC_METHOD_CALLERS.items() if "report" in who} == {
        "/rampart.scan.v1.ScanService/DiffScans",
        "/rampart.threat.v1.ThreatService/ListScanFindings",
        "/rampart.threat.v1.ThreatService/ListVulnerabilities",
        "/rampart.threat.v1.ThreatService/AnalyzeThreat",
        "/rampart.scan.v1.ScanService/ListScans",
        "/rampart.scan.v1.ScanService/GetScanResults",
        "/rampart.ai.v1.AiService/GenerateReport",
        # diff reports, reports over asset ids (issue 13)
        "/rampart.threat.v1.ThreatService/GetAsset",
    }
    assert not may_call("report", "/rampart.ai.v1.AiService/Ask")
    assert may_call("report", "/rampart.threat.v1.ThreatService/ListVulnerabilities")
    assert may_call("report", "/rampart.scan.v1.ScanService/ListScans")
    assert not may_call("report", "/rampart.threat.v1.ThreatService/UpdateVulnerability")
    assert not may_call("report", "/rampart.auth.v1.AuthService/ValidateApiKey")
    assert not may_call("threat", "/rampart.scan.v1.ScanService/ListScans")


def test_dev_certificates_are_short_lived_and_keys_private(ca: DevCA) -> None:
    from cryptography import x509

    files = ca.issue("scan-worker")
    assert files.identity() == "scan-worker"
    cert = x509.load_pem_x509_certificate(files.cert.read_bytes())
    lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert lifetime.days <= 8
    for key in (files.key, ca.directory / "ca.key"):
        assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(ca.directory).st_mode) == 0o700
    again = ca.issue("scan-worker")  # still valid: kept, not reissued
    assert again.cert.read_bytes() == files.cert.read_bytes()


def _settings(**values: Any) -> ServiceSettings:
    return ServiceSettings(port=0, mongodb_url="mongodb://x", nats_url="nats://x", **values)


def test_tls_settings_refuse_to_start_without_certificates(
    tmp_path: Path, ca: DevCA, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SettingsError):
        tls_files(_settings())
    assert "TLS_DIR" in capsys.readouterr().err
    with pytest.raises(SettingsError):
        tls_files(_settings(tls_insecure=True, rampart_env="production"))
    assert "TLS_INSECURE" in capsys.readouterr().err
    assert tls_files(_settings(tls_insecure=True)) is None
    folder = ca.directory / "auth"
    (folder / "ca.crt").write_bytes(ca.ca_cert_path.read_bytes())
    files = tls_files(_settings(tls_dir=folder))
    assert files is not None
    assert files.identity() == "auth"


def test_report_reads_only_what_an_export_needs() -> None:
    """Exports: the scan's results and history, and its findings; nothing else, and never a change."""
    for method in (
        "/rampart.scan.v1.ScanService/GetScanResults",
        "/rampart.scan.v1.ScanService/ListScans",
        "/rampart.threat.v1.ThreatService/ListVulnerabilities",
    ):
        assert may_call("report", method), method
    for method in (
        "/rampart.scan.v1.ScanService/CreateScan",
        "/rampart.scan.v1.ScanService/DeleteScanResults",
        "/rampart.threat.v1.ThreatService/UpdateVulnerability",
        "/rampart.auth.v1.AuthService/ValidateApiKey",
    ):
        assert not may_call("report", method), method
