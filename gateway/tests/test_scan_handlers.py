"""Scan handlers against a stub scan-service: bodies, headers, queries, views and error mapping."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import grpc
import pytest
from starlette.testclient import TestClient

from gateway.tests.stubs import StubPlatform, rpc_error
from rampart.common.v1 import common_pb2
from rampart.report.v1 import report_pb2
from rampart.scan.v1 import scan_pb2
from rampart.threat.v1 import threat_pb2
from rampart_report.exports.csvfile import PORT_COLUMNS

OWNER = common_pb2.Owner(org_id="org_1")


@pytest.fixture
def platform() -> StubPlatform:
    return StubPlatform()


@pytest.fixture
def client(platform: StubPlatform) -> Iterator[TestClient]:
    with platform.client() as test_client:
        yield test_client


def finished_scan(platform: StubPlatform) -> None:
    """scan_0001: finished, one open port whose product tries a spreadsheet formula, one closed."""
    scan = scan_pb2.Scan(
        scan_id="scan_0001", owner=OWNER, targets=["10.0.0.1"], scan_type=scan_pb2.SCAN_TYPE_TCP
    )
    scan.status = scan_pb2.SCAN_STATUS_COMPLETED
    web = scan_pb2.PortResult(host="10.0.0.1", port=443, state=scan_pb2.PORT_STATE_OPEN, rtt_ms=1.5)
    web.service.name, web.service.product, web.service.confidence = "https", '=HYPERLINK("x")', 90
    web.service.facts["http.server"] = "nginx/1.22.1"
    web.tls.negotiated_protocol = "TLSv1.3"
    web.tls.protocols_accepted.extend(["TLSv1.2", "TLSv1.3"])
    web.tls.weaknesses.append("-cipher:RC4")
    closed = scan_pb2.PortResult(host="10.0.0.1", port=22, state=scan_pb2.PORT_STATE_CLOSED)
    platform.scan.add(scan, [web, closed])


@pytest.mark.parametrize(
    ("body", "field", "reason"),
    [
        ({"target": "a", "targets": ["b"]}, "body", "give either target or targets"),
        ({}, "body", "give either target or targets"),
        ({"target": "a", "profile": "stealth"}, "profile", "Input should be"),
        ({"target": "a", "max_duration": 1441}, "max_duration", "less than or equal to 1440"),
        ({"target": "a", "colour": "red"}, "colour", "Extra inputs are not permitted"),
        ({"target": "a", "options": {"fast_mode": "maybe"}}, "options.fast_mode", "valid boolean"),
    ],
)
def test_create_scan_refuses_a_bad_body_with_422_naming_the_field(
    platform: StubPlatform, client: TestClient, body: dict, field: str, reason: str
) -> None:
    reply = client.post("/api/v1/scans", json=body, headers=platform.token("scans:write"))
    assert reply.status_code == 422
    error = reply.json()["error"]
    assert (error["code"], error["details"]["field"]) == ("VALIDATION_ERROR", field)
    assert reason in error["message"]
    assert "CreateScan" not in platform.scan.requests


def test_create_scan_refuses_a_body_that_is_not_json_with_400(
    platform: StubPlatform, client: TestClient
) -> None:
    reply = client.post("/api/v1/scans", content=b"{target:", headers=platform.token("scans:write"))
    assert (reply.status_code, reply.json()["error"]["code"]) == (400, "BAD_REQUEST")


def test_create_scan_sends_the_callers_plan_and_answers_the_stream_urls(
    platform: StubPlatform, client: TestClient
) -> None:
    headers = {**platform.token("scans:write", mode="test"), "X-Request-ID": "req-create-1"}
    body = {"targets": ["10.0.0.1", "10.0.0.2"], "ports": "22,443", "max_duration": 1.5, "profile": "pentest"}
    reply = client.post("/api/v1/scans", json=body, headers=headers)
    assert reply.status_code == 201
    data = reply.json()["data"]
    assert data["scan_id"] == "scan_0001"
    assert (data["status"], data["target"], data["targets"], data["sandbox"]) == (
        "queued",
        "10.0.0.1",
        ["10.0.0.1", "10.0.0.2"],
        True,
    )
    assert data["websocket_url"] == "ws://testserver/ws/scans/scan_0001"
    assert data["sse_url"] == "http://testserver/api/v1/scans/scan_0001/stream"
    sent = platform.scan.last("CreateScan")
    assert (sent.max_duration_seconds, sent.ports, sent.profile, sent.scan_type) == (
        90,
        "22,443",
        scan_pb2.SCAN_PROFILE_PENTEST,
        scan_pb2.SCAN_TYPE_TCP,
    )
    assert (sent.concurrent_limit, sent.daily_limit, sent.request_id) == (3, 50, "req-create-1")
    assert sent.owner.mode == common_pb2.KEY_MODE_TEST
    assert "idempotent-replayed" not in reply.headers


def test_the_idempotency_key_is_passed_on_and_a_replay_is_marked(
    platform: StubPlatform, client: TestClient
) -> None:
    headers = {**platform.token("scans:write"), "Idempotency-Key": "order-42:retry_1"}
    first = client.post("/api/v1/scans", json={"target": "10.0.0.1"}, headers=headers)
    again = client.post("/api/v1/scans", json={"target": "10.0.0.1"}, headers=headers)
    assert platform.scan.last("CreateScan").idempotency_key == "order-42:retry_1"
    assert "idempotent-replayed" not in first.headers
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["data"]["scan_id"] == first.json()["data"]["scan_id"]


@pytest.mark.parametrize("key", ["has space", "x" * 256, "semi;colon"])
def test_a_malformed_idempotency_key_is_422_before_scan_service_is_asked(
    platform: StubPlatform, client: TestClient, key: str
) -> None:
    headers = {**platform.token("scans:write"), "Idempotency-Key": key}
    reply = client.post("/api/v1/scans", json={"target": "10.0.0.1"}, headers=headers)
    assert (reply.status_code, reply.json()["error"]["details"]) == (422, {"field": "Idempotency-Key"})
    assert "CreateScan" not in platform.scan.requests


def test_list_parses_the_query_into_the_request_and_answers_the_paging_envelope(
    platform: StubPlatform, client: TestClient
) -> None:
    finished_scan(platform)
    platform.scan.page = common_pb2.PageInfo(total=41, page=2, per_page=5, pages=9, next_cursor="")
    query = "status=completed&order=asc&page=2&per_page=5&sort=status&target=10.0.0.1"
    query += "&created_after=2026-01-31T12:00:00%2B01:00&page=2"
    reply = client.get(f"/api/v1/scans?{query}", headers=platform.token("scans:read"))
    assert reply.status_code == 200
    sent = platform.scan.last("ListScans")
    assert (sent.page.page, sent.page.per_page, sent.page.sort, sent.page.descending) == (
        2,
        5,
        "status",
        False,
    )
    assert (sent.status, sent.target) == (scan_pb2.SCAN_STATUS_COMPLETED, "10.0.0.1")
    assert sent.created.after.ToJsonString() == "2026-01-31T11:00:00Z"
    assert not sent.created.HasField("before")
    data = reply.json()["data"]
    assert {k: v for k, v in data.items() if k != "items"} == {
        "total": 41,
        "page": 2,
        "per_page": 5,
        "pages": 9,
        "next_cursor": None,
    }
    assert [item["scan_id"] for item in data["items"]] == ["scan_0001"]
    assert data["items"][0]["status"] == "completed"


def test_list_passes_a_cursor_on_and_returns_the_next_one(platform: StubPlatform, client: TestClient) -> None:
    platform.scan.page = common_pb2.PageInfo(total=3, page=1, per_page=1, pages=3, next_cursor="c2")
    reply = client.get("/api/v1/scans?cursor=c1_-", headers=platform.token("scans:read"))
    assert platform.scan.last("ListScans").page.cursor == "c1_-"
    assert reply.json()["data"]["next_cursor"] == "c2"


@pytest.mark.parametrize(("query", "field"), [("per_page=101", "per_page"), ("cursor=a.b", "cursor")])
def test_a_bad_list_parameter_is_422_before_scan_service_is_asked(
    platform: StubPlatform, client: TestClient, query: str, field: str
) -> None:
    reply = client.get(f"/api/v1/scans?{query}", headers=platform.token("scans:read"))
    assert (reply.status_code, reply.json()["error"]["details"]["field"]) == (422, field)
    assert "ListScans" not in platform.scan.requests


def test_results_show_each_port_with_its_service_and_tls(platform: StubPlatform, client: TestClient) -> None:
    finished_scan(platform)
    data = client.get("/api/v1/scans/scan_0001/results", headers=platform.token("scans:read")).json()["data"]
    web, closed = data["ports"]
    assert (web["port"], web["state"], web["protocol"], web["rtt_ms"]) == (443, "open", "tcp", 1.5)
    assert web["service"]["name"] == "https"
    assert web["service"]["facts"] == {"http.server": "nginx/1.22.1"}
    assert web["tls"]["protocols_accepted"] == ["TLSv1.2", "TLSv1.3"]
    assert (closed["state"], closed["service"], closed["tls"], closed["rtt_ms"]) == (
        "closed",
        None,
        None,
        None,
    )
    assert (data["status"], data["scan_type"]) == ("completed", "tcp")


def test_export_json_is_made_by_report_service_for_the_caller_as_an_attachment(
    platform: StubPlatform, client: TestClient
) -> None:
    finished_scan(platform)
    reply = client.get("/api/v1/scans/scan_0001/export", headers=platform.token("scans:read"))
    assert reply.headers["content-type"] == "application/json"
    assert reply.headers["content-disposition"] == 'attachment; filename="scan_0001.json"'
    assert reply.headers["content-length"] == str(len(reply.content))
    body = reply.json()  # no envelope
    assert (body["scan"]["scan_id"], body["scan"]["status"]) == ("scan_0001", "completed")
    assert [(p["port"], p["state"]) for p in body["ports"]] == [(443, "open"), (22, "closed")]
    sent = platform.report.last("ExportScan")
    assert (sent.owner.org_id, sent.scan_id, sent.format) == ("org_1", "scan_0001", report_pb2.FORMAT_JSON)


def test_export_csv_has_one_row_per_port_and_no_formula_cells(
    platform: StubPlatform, client: TestClient
) -> None:
    finished_scan(platform)
    reply = client.get("/api/v1/scans/scan_0001/export?format=csv", headers=platform.token("scans:read"))
    assert reply.headers["content-type"] == "text/csv; charset=utf-8"
    assert reply.headers["content-disposition"] == 'attachment; filename="scan_0001-ports.csv"'
    header, web, closed = list(csv.reader(io.StringIO(reply.text)))
    assert tuple(header) == PORT_COLUMNS
    row = dict(zip(header, web, strict=True))
    assert row["product"] == '\'=HYPERLINK("x")'
    assert row["tls_weaknesses"] == "'-cipher:RC4"
    assert (row["port"], row["state"], row["tls_protocols"], row["confidence"]) == (
        "443",
        "open",
        "TLSv1.2 TLSv1.3",
        "90",
    )
    assert dict(zip(header, closed, strict=True))["service"] == ""


@pytest.mark.parametrize(
    ("query", "media_type", "filename", "sent_format", "sent_kind"),
    [
        (
            "format=csv&kind=findings",
            "text/csv; charset=utf-8",
            "scan_0001-findings.csv",
            report_pb2.FORMAT_CSV,
            report_pb2.CSV_KIND_FINDINGS,
        ),
        (
            "format=sarif",
            "application/sarif+json",
            "scan_0001.sarif",
            report_pb2.FORMAT_SARIF,
            report_pb2.CSV_KIND_PORTS,
        ),
        (
            "format=html",
            "text/html; charset=utf-8",
            "scan_0001.html",
            report_pb2.FORMAT_HTML,
            report_pb2.CSV_KIND_PORTS,
        ),
        ("format=pdf", "application/pdf", "scan_0001.pdf", report_pb2.FORMAT_PDF, report_pb2.CSV_KIND_PORTS),
    ],
)
def test_every_export_format_is_asked_of_report_service_and_sent_with_its_type(
    platform: StubPlatform,
    client: TestClient,
    query: str,
    media_type: str,
    filename: str,
    sent_format: int,
    sent_kind: int,
) -> None:
    finished_scan(platform)
    reply = client.get(f"/api/v1/scans/scan_0001/export?{query}", headers=platform.token("scans:read"))
    assert reply.status_code == 200
    assert reply.headers["content-type"] == media_type
    assert reply.headers["content-disposition"] == f'attachment; filename="{filename}"'
    sent = platform.report.last("ExportScan")
    assert (sent.format, sent.csv_kind) == (sent_format, sent_kind)
    if query == "format=pdf":
        assert reply.content.startswith(b"%PDF-")


def test_export_needs_the_scans_read_scope(platform: StubPlatform, client: TestClient) -> None:
    finished_scan(platform)
    reply = client.get("/api/v1/scans/scan_0001/export", headers=platform.token("threats:read"))
    assert (reply.status_code, reply.json()["error"]["code"]) == (403, "INSUFFICIENT_PERMISSIONS")
    assert "ExportScan" not in platform.report.requests


def test_export_in_an_unknown_format_is_422(platform: StubPlatform, client: TestClient) -> None:
    finished_scan(platform)
    reply = client.get("/api/v1/scans/scan_0001/export?format=xml", headers=platform.token("scans:read"))
    assert (reply.status_code, reply.json()["error"]["details"]["field"]) == (422, "format")


def test_a_scan_scan_service_does_not_find_is_404_scan_not_found(
    platform: StubPlatform, client: TestClient
) -> None:
    platform.scan.add(scan_pb2.Scan(scan_id="scan_other", owner=common_pb2.Owner(org_id="org_2")))
    headers = platform.token("scans:read", "scans:write")
    for method, path in (
        ("GET", "/api/v1/scans/scan_other"),
        ("GET", "/api/v1/scans/scan_other/results"),
        ("GET", "/api/v1/scans/scan_other/export"),
        ("DELETE", "/api/v1/scans/scan_other"),
        ("DELETE", "/api/v1/scans/scan_other/results"),
    ):
        reply = client.request(method, path, headers=headers)
        error = reply.json()["error"]
        assert (reply.status_code, error["code"], error["details"]) == (
            404,
            "SCAN_NOT_FOUND",
            {"scan_id": "scan_other"},
        )


def test_an_unavailable_scan_service_is_503_without_its_details(
    platform: StubPlatform, client: TestClient
) -> None:
    platform.scan.fail("GetScan", rpc_error(grpc.StatusCode.UNAVAILABLE, "connect to 10.1.2.3:50052 refused"))
    reply = client.get("/api/v1/scans/scan_0001", headers=platform.token("scans:read"))
    assert reply.status_code == 503
    assert reply.json()["error"] == {
        "code": "SERVICE_UNAVAILABLE",
        "message": "an internal service is unavailable",
        "details": {},
    }
    assert "10.1.2.3" not in reply.text


def test_an_internal_failure_is_500_without_its_details(platform: StubPlatform, client: TestClient) -> None:
    platform.scan.fail(
        "CancelScan", rpc_error(grpc.StatusCode.INTERNAL, "KeyError: 'owner' in repository.py")
    )
    reply = client.delete("/api/v1/scans/scan_0001", headers=platform.token("scans:write"))
    assert (reply.status_code, reply.json()["error"]["message"]) == (500, "internal error")
    assert "repository" not in reply.text


def test_a_refused_target_keeps_the_services_code_and_details(
    platform: StubPlatform, client: TestClient
) -> None:
    refused = rpc_error(
        grpc.StatusCode.PERMISSION_DENIED,
        "10.0.0.1 is outside your scope",
        "TARGET_NOT_ALLOWED",
        target="10.0.0.1",
    )
    platform.scan.fail("CreateScan", refused)
    reply = client.post("/api/v1/scans", json={"target": "10.0.0.1"}, headers=platform.token("scans:write"))
    assert reply.status_code == 403
    assert reply.json()["error"] == {
        "code": "TARGET_NOT_ALLOWED",
        "message": "10.0.0.1 is outside your scope",
        "details": {"target": "10.0.0.1"},
    }


def test_delete_results_answers_how_many_ports_went(platform: StubPlatform, client: TestClient) -> None:
    finished_scan(platform)
    reply = client.delete("/api/v1/scans/scan_0001/results", headers=platform.token("scans:write"))
    assert reply.json()["data"] == {"scan_id": "scan_0001", "deleted_ports": 2}


def test_udp_and_a_rate_reach_scan_service_with_the_plans_host_cap_and_probe_rate(
    platform: StubPlatform, client: TestClient
) -> None:
    body = {"target": "10.0.0.0/20", "scan_type": "udp", "ports": "top-100", "rate": 250}
    reply = client.post("/api/v1/scans", json=body, headers=platform.token("scans:write"))
    assert reply.status_code == 201, reply.text
    sent = platform.scan.last("CreateScan")
    assert (sent.scan_type, sent.rate) == (scan_pb2.SCAN_TYPE_UDP, 250.0)
    assert sent.max_hosts_limit == 65_536  # the stub plan names no cap: the platform's /16
    refused = client.post(
        "/api/v1/scans", json={"target": "a", "scan_type": "sctp"}, headers=platform.token("scans:write")
    )
    assert (refused.status_code, refused.json()["error"]["details"]["field"]) == (422, "scan_type")


def test_resume_queues_the_scan_again_with_the_callers_concurrency(
    platform: StubPlatform, client: TestClient
) -> None:
    finished_scan(platform)
    reply = client.post("/api/v1/scans/scan_0001/resume", headers=platform.token("scans:write"))
    assert reply.status_code == 202, reply.text
    assert (reply.json()["data"]["status"], reply.json()["data"]["resumes"]) == ("queued", 1)
    assert platform.scan.last("ResumeScan").concurrent_limit == 3
    platform.scan.fail(
        "ResumeScan", rpc_error(grpc.StatusCode.FAILED_PRECONDITION, "not resumable", "SCAN_NOT_RESUMABLE")
    )
    refused = client.post("/api/v1/scans/scan_0001/resume", headers=platform.token("scans:write"))
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "SCAN_NOT_RESUMABLE")


def scan_findings(platform: StubPlatform, org: str = "org_1") -> None:
    """threat-service announced two findings for scan_0001 and settled them."""
    found = threat_pb2.ScanFindings(
        count=threat_pb2.ScanFindingCount(
            scan_id="scan_0001", findings=2, by_severity={"critical": 1, "medium": 1}, settled=True
        ),
        resolved=1,
    )
    found.findings.add(
        vulnerability_id="vuln_a",
        fingerprint="fa",
        type="vulnerable_service",
        severity="critical",
        host="10.0.0.1",
        port=443,
        protocol="tcp",
        cve="CVE-2024-6387",
        status="open",
    )
    found.findings.add(
        vulnerability_id="vuln_b",
        fingerprint="fb",
        type="misconfiguration",
        severity="medium",
        host="10.0.0.1",
        port=443,
        protocol="tcp",
        rule_id="RMP-TLS-003",
        status="reopened",
    )
    platform.threat.scan_findings["scan_0001"] = (org, found)


def test_the_scan_list_counts_each_scans_vulnerabilities_in_one_call(
    platform: StubPlatform, client: TestClient
) -> None:
    finished_scan(platform)
    scan_findings(platform)
    data = client.get("/api/v1/scans", headers=platform.token("scans:read")).json()["data"]
    (item,) = data["items"]
    assert item["vulnerabilities_found"] == 2
    assert item["vulnerability_counts"] == {"critical": 1, "high": 0, "medium": 1, "low": 0, "info": 0}
    assert item["findings_settled"] is True
    (asked,) = platform.threat.requests["CountScanFindings"]
    assert (list(asked.scan_ids), asked.owner.org_id) == (["scan_0001"], "org_1")


def test_a_scan_without_findings_counts_zero_and_an_unreachable_threat_service_null(
    platform: StubPlatform, client: TestClient
) -> None:
    finished_scan(platform)
    item = client.get("/api/v1/scans", headers=platform.token("scans:read")).json()["data"]["items"][0]
    assert (item["vulnerabilities_found"], item["findings_settled"]) == (0, False)
    platform.threat.fail("CountScanFindings", rpc_error(grpc.StatusCode.UNAVAILABLE, "down"))
    reply = client.get("/api/v1/scans", headers=platform.token("scans:read"))
    item = reply.json()["data"]["items"][0]
    assert reply.status_code == 200
    assert (item["scan_id"], item["vulnerabilities_found"], item["vulnerability_counts"]) == (
        "scan_0001",
        None,
        None,
    )


def test_results_list_the_scans_findings_with_the_counts(platform: StubPlatform, client: TestClient) -> None:
    finished_scan(platform)
    scan_findings(platform)
    data = client.get("/api/v1/scans/scan_0001/results", headers=platform.token("scans:read")).json()["data"]
    assert (data["vulnerabilities_found"], data["vulnerabilities_resolved"]) == (2, 1)
    assert [(v["cve"], v["rule_id"], v["severity"], v["status"]) for v in data["vulnerabilities"]] == [
        ("CVE-2024-6387", None, "critical", "open"),
        (None, "RMP-TLS-003", "medium", "reopened"),
    ]
    assert platform.threat.last("ListScanFindings").scan_id == "scan_0001"
