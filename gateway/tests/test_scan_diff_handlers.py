"""GET /api/v1/scans/{id}/diff against stub services: the results side from scan-service, the
findings side compared here by fingerprint, the query passed on, tenancy and a missing threat-service."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest
from starlette.testclient import TestClient

from gateway.tests.stubs import StubPlatform, rpc_error
from rampart.common.v1 import common_pb2
from rampart.scan.v1 import scan_pb2
from rampart.threat.v1 import threat_pb2

OWNER = common_pb2.Owner(org_id="org_1")


@pytest.fixture
def platform() -> StubPlatform:
    return StubPlatform()


@pytest.fixture
def client(platform: StubPlatform) -> Iterator[TestClient]:
    with platform.client() as test_client:
        yield test_client


def two_scans(platform: StubPlatform) -> None:
    """scan_old then scan_new of 10.0.0.1: 443 opened, 22 upgraded, each with findings."""
    old = platform.scan.add(
        scan_pb2.Scan(
            scan_id="scan_old", owner=OWNER, targets=["10.0.0.1"], status=scan_pb2.SCAN_STATUS_COMPLETED
        )
    )
    new = platform.scan.add(
        scan_pb2.Scan(
            scan_id="scan_new", owner=OWNER, targets=["10.0.0.1"], status=scan_pb2.SCAN_STATUS_COMPLETED
        )
    )
    diff = scan_pb2.ScanDiff(scan=new, against=old)
    diff.ports_opened.add(host="10.0.0.1", port=443, protocol="tcp").service.name = "https"
    changed = diff.services_changed.add(host="10.0.0.1", port=22, protocol="tcp")
    changed.before.name, changed.before.product, changed.before.version = "ssh", "OpenSSH", "8.9"
    changed.after.name, changed.after.product, changed.after.version = "ssh", "OpenSSH", "9.6"
    expiring = diff.certificates_expiring.add(host="10.0.0.1", port=443, protocol="tcp", days_left=12)
    expiring.certificate.subject = "CN=a"
    platform.scan.diffs["scan_new"] = diff

    before = threat_pb2.ScanFindings()
    before.findings.add(fingerprint="f_fixed", severity="high", title="fixed", status="open")
    before.findings.add(fingerprint="f_kept", severity="low", title="kept", status="open")
    after = threat_pb2.ScanFindings()
    after.findings.add(fingerprint="f_kept", severity="low", title="kept", status="open")
    after.findings.add(fingerprint="f_new", severity="critical", title="new", status="open")
    after.findings.add(fingerprint="f_back", severity="medium", title="back", status="reopened")
    platform.threat.scan_findings["scan_old"] = ("org_1", before)
    platform.threat.scan_findings["scan_new"] = ("org_1", after)


def test_the_diff_lists_each_change_and_the_findings_new_reopened_and_resolved(
    platform: StubPlatform, client: TestClient
) -> None:
    two_scans(platform)
    reply = client.get("/api/v1/scans/scan_new/diff", headers=platform.token("scans:read"))
    assert reply.status_code == 200
    data = reply.json()["data"]
    assert (data["scan"]["scan_id"], data["against"]["scan_id"]) == ("scan_new", "scan_old")
    assert [(p["port"], p["service"]["name"]) for p in data["ports_opened"]] == [(443, "https")]
    assert [(c["before"]["version"], c["after"]["version"]) for c in data["services_changed"]] == [
        ("8.9", "9.6")
    ]
    assert [(c["port"], c["days_left"]) for c in data["certificates_expiring"]] == [(443, 12)]
    findings = data["findings"]
    assert [f["fingerprint"] for f in findings["new"]] == ["f_new"]
    assert [f["fingerprint"] for f in findings["reopened"]] == ["f_back"]
    assert [f["fingerprint"] for f in findings["resolved"]] == ["f_fixed"]
    assert data["summary"]["ports_opened"] == 1
    assert data["summary"]["findings_new"] == 1
    assert data["changed"] is True
    asked = platform.scan.last("DiffScans")
    assert (asked.scan_id, asked.against_scan_id, asked.expiring_within_days) == ("scan_new", "", 30)


def test_the_query_is_passed_on_and_a_bad_one_is_422(platform: StubPlatform, client: TestClient) -> None:
    two_scans(platform)
    headers = platform.token("scans:read")
    ok = client.get("/api/v1/scans/scan_new/diff?against=scan_old&expiring_within_days=7", headers=headers)
    assert ok.status_code == 200
    asked = platform.scan.last("DiffScans")
    assert (asked.against_scan_id, asked.expiring_within_days) == ("scan_old", 7)
    bad = client.get("/api/v1/scans/scan_new/diff?expiring_within_days=-1", headers=headers)
    assert bad.status_code == 422


def test_another_organisations_scan_on_either_side_is_404(platform: StubPlatform, client: TestClient) -> None:
    two_scans(platform)
    platform.scan.add(scan_pb2.Scan(scan_id="scan_theirs", owner=common_pb2.Owner(org_id="org_2")))
    headers = platform.token("scans:read")
    for path in ("/api/v1/scans/scan_theirs/diff", "/api/v1/scans/scan_new/diff?against=scan_theirs"):
        reply = client.get(path, headers=headers)
        assert (reply.status_code, reply.json()["error"]["code"]) == (404, "SCAN_NOT_FOUND")


def test_no_scan_to_compare_is_409_with_its_code(platform: StubPlatform, client: TestClient) -> None:
    two_scans(platform)
    platform.scan.fail(
        "DiffScans", rpc_error(grpc.StatusCode.FAILED_PRECONDITION, "no earlier scan", "NO_SCAN_TO_COMPARE")
    )
    reply = client.get("/api/v1/scans/scan_old/diff", headers=platform.token("scans:read"))
    assert (reply.status_code, reply.json()["error"]["code"]) == (409, "NO_SCAN_TO_COMPARE")


def test_the_diff_needs_the_read_scope(platform: StubPlatform, client: TestClient) -> None:
    two_scans(platform)
    reply = client.get("/api/v1/scans/scan_new/diff", headers=platform.token("threats:read"))
    assert reply.status_code == 403


def test_an_unreachable_threat_service_leaves_the_findings_null(
    platform: StubPlatform, client: TestClient
) -> None:
    two_scans(platform)
    platform.threat.fail("ListScanFindings", rpc_error(grpc.StatusCode.UNAVAILABLE, "down"))
    reply = client.get("/api/v1/scans/scan_new/diff", headers=platform.token("scans:read"))
    data = reply.json()["data"]
    assert reply.status_code == 200
    assert data["findings"] is None
    assert data["summary"]["findings_new"] is None
    assert [p["port"] for p in data["ports_opened"]] == [443]
