"""Compliance routes on stub report-service: scopes, request mapping, seed-002 shape, errors, tenancy."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest
from starlette.testclient import TestClient

from gateway.tests.stub_report import control
from gateway.tests.stub_services import rpc_error
from gateway.tests.stubs import StubPlatform
from rampart.report.v1 import report_pb2

FAILING, PASSING, MANUAL = (
    report_pb2.CONTROL_STATUS_FAILING,
    report_pb2.CONTROL_STATUS_PASSING,
    report_pb2.CONTROL_STATUS_MANUAL,
)


CompliancePlatform = StubPlatform


@pytest.fixture
def platform() -> CompliancePlatform:
    platform = CompliancePlatform()
    platform.report.controls["org_1"] += [
        control("pci-dss:4.2.1", FAILING, gaps=1),
        control("iso27001:A.8.24", FAILING, gaps=1),
        control("pci-dss:12.10.1", MANUAL, evidence=2),
    ]
    platform.report.controls["org_other"] += [control("pci-dss:6.3.3", PASSING)]
    return platform


@pytest.fixture
def client(platform: CompliancePlatform) -> Iterator[TestClient]:
    with platform.client() as test_client:
        yield test_client


def test_get_controls_returns_the_seed_002_shape_with_filters_and_pages(
    platform: CompliancePlatform, client: TestClient
) -> None:
    reply = client.get(
        "/api/v1/controls?status=failing&per_page=1&page=2", headers=platform.token("reports:read")
    )
    assert reply.status_code == 200, reply.text
    data = reply.json()["data"]
    assert (data["total"], data["page"], data["per_page"], data["pages"]) == (2, 2, 1, 2)
    item = data["items"][0]
    assert {k: item[k] for k in ("id", "name", "status", "frameworks", "evidence_count")} == {
        "id": "iso27001:A.8.24",
        "name": "name of A.8.24",
        "status": "failing",
        "frameworks": ["ISO/IEC 27001"],
        "evidence_count": 0,
    }
    sent = platform.report.last("ListControls")
    assert (sent.status, sent.page.page, sent.page.per_page) == (FAILING, 2, 1)


def test_the_callers_organisation_is_what_report_service_is_asked_for(
    platform: CompliancePlatform, client: TestClient
) -> None:
    other = client.get("/api/v1/controls", headers=platform.token("reports:read", org="org_other"))
    assert [i["id"] for i in other.json()["data"]["items"]] == ["pci-dss:6.3.3"]
    assert platform.report.last("ListControls").owner.org_id == "org_other"
    missing = client.get(
        "/api/v1/controls/pci-dss:4.2.1", headers=platform.token("reports:read", org="org_other")
    )
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "CONTROL_NOT_FOUND")


def test_a_frameworks_posture_lists_its_failing_controls_as_gaps_with_hosts_and_remediation(
    platform: CompliancePlatform, client: TestClient
) -> None:
    reply = client.get("/api/v1/compliance/pci-dss", headers=platform.token("reports:read"))
    assert reply.status_code == 200, reply.text
    data = reply.json()["data"]
    assert [g["id"] for g in data["gaps"]] == ["pci-dss:4.2.1"]
    gap = data["gaps"][0]["gaps"][0]
    assert (gap["host"], gap["port"], gap["severity"], gap["remediation"]) == (
        "10.0.0.5",
        443,
        "high",
        "disable weak suites",
    )
    unknown = client.get("/api/v1/compliance/nist", headers=platform.token("reports:read"))
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "FRAMEWORK_NOT_FOUND")


def test_all_frameworks_and_history(platform: CompliancePlatform, client: TestClient) -> None:
    headers = platform.token("reports:read")
    posture = client.get("/api/v1/compliance?frameworks=pci-dss,iso27001", headers=headers).json()["data"]
    assert [f["framework"] for f in posture["frameworks"]] == ["pci-dss", "iso27001"]
    history = client.get("/api/v1/compliance/history?days=7", headers=headers).json()["data"]
    assert history["snapshots"][0]["statuses"] == {"pci-dss:4.2.1": "failing"}
    assert platform.report.last("GetComplianceHistory").days == 7


def test_reading_needs_reports_read_and_changing_needs_reports_write(
    platform: CompliancePlatform, client: TestClient
) -> None:
    assert client.get("/api/v1/controls", headers=platform.token("scans:read")).status_code == 403
    patch = client.patch(
        "/api/v1/controls/pci-dss:12.10.1",
        json={"status": "passing", "note": "x"},
        headers=platform.token("reports:read"),
    )
    assert patch.status_code == 403
    assert "UpdateControl" not in platform.report.requests


def test_patch_sends_status_note_and_owner(platform: CompliancePlatform, client: TestClient) -> None:
    reply = client.patch(
        "/api/v1/controls/pci-dss:12.10.1",
        json={"status": "passing", "note": "IR plan approved", "owner": "usr_carol"},
        headers=platform.token("reports:write"),
    )
    assert reply.status_code == 200, reply.text
    sent = platform.report.last("UpdateControl")
    assert (sent.status, sent.note, sent.owner_user_id) == (PASSING, "IR plan approved", "usr_carol")
    assert reply.json()["data"]["attestation"]["owner"] == "usr_carol"
    bad = client.patch(
        "/api/v1/controls/pci-dss:12.10.1", json={"status": "great"}, headers=platform.token("reports:write")
    )
    assert bad.status_code == 422


def test_evidence_is_the_raw_body_and_a_malicious_refusal_is_the_services_error(
    platform: CompliancePlatform, client: TestClient
) -> None:
    headers = platform.token("reports:write")
    pdf = b"%PDF-1.7\n" + b"x" * 100_000  # beyond the JSON body limit: uploads have their own
    reply = client.post(
        "/api/v1/controls/pci-dss:12.10.1/evidence?filename=plan.pdf", content=pdf, headers=headers
    )
    assert reply.status_code == 201, reply.text
    sent = platform.report.last("AddControlEvidence")
    assert (sent.filename, sent.content) == ("plan.pdf", pdf)
    platform.report.fail(
        "AddControlEvidence",
        rpc_error(
            grpc.StatusCode.FAILED_PRECONDITION, "malicious", "EVIDENCE_MALICIOUS", analysis_id="ana_1"
        ),
    )
    refused = client.post("/api/v1/controls/pci-dss:12.10.1/evidence", content=b"bad", headers=headers)
    assert (refused.status_code, refused.json()["error"]["code"]) == (422, "EVIDENCE_MALICIOUS")
    huge = client.post(
        "/api/v1/controls/pci-dss:12.10.1/evidence", content=b"a" * (1024 * 1024 + 1), headers=headers
    )
    assert (huge.status_code, huge.json()["error"]["code"]) == (413, "PAYLOAD_TOO_LARGE")


def test_a_malformed_control_id_is_refused_without_a_call(
    platform: CompliancePlatform, client: TestClient
) -> None:
    reply = client.get("/api/v1/controls/<script>", headers=platform.token("reports:read"))
    assert reply.status_code == 422
    assert "GetControl" not in platform.report.requests


def test_the_openapi_document_describes_the_evidence_upload_as_a_binary_body(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    upload = spec["paths"]["/api/v1/controls/{control_id}/evidence"]["post"]
    assert "application/octet-stream" in upload["requestBody"]["content"]
    assert "EVIDENCE_MALICIOUS" in str(upload["responses"])
    assert set(spec["paths"]["/api/v1/controls/{control_id}"]) == {"get", "patch"}
