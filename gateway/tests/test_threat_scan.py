"""GET /api/v1/threats/scan against stub services and a stand-in stream: a scan created as POST /scans
would, its findings followed until they settle, the seed-004 answer, and 202 while not final."""

from __future__ import annotations

import grpc

from gateway.tests.fake_stream import DONE, event, finding, stream_broker
from gateway.tests.stubs import StubPlatform, rpc_error
from rampart.scan.v1 import scan_pb2

SCAN = "scan_0001"  # the first id the stub scan-service gives
SERVICE = event(
    scan_pb2.SCAN_EVENT_TYPE_SERVICE_DETECTED,
    SCAN,
    port=scan_pb2.PortResult(host="127.0.0.1", port=22, protocol="tcp", state=scan_pb2.PORT_STATE_OPEN),
)
COMPLETE = event(scan_pb2.SCAN_EVENT_TYPE_COMPLETED, SCAN, status=DONE)
SETTLED = event(
    scan_pb2.SCAN_EVENT_TYPE_FINDINGS_SETTLED, SCAN, status=DONE, settled=scan_pb2.FindingsSettled(findings=2)
)
CVE = finding(22, "critical", cve="CVE-2024-6387", scan_id=SCAN)
RULE = finding(22, "medium", rule="RMP-SSH-002", scan_id=SCAN)


def call(platform: StubPlatform, query: str, *scopes: str) -> tuple[int, dict[str, str], dict[str, object]]:
    with platform.client(stream_findings_grace=0.2) as client:
        reply = client.get(
            f"/api/v1/threats/scan?{query}", headers=platform.token(*(scopes or ("scans:write",)))
        )
    return reply.status_code, dict(reply.headers), reply.json()


def test_a_settled_scan_answers_in_the_seed_004_shape() -> None:
    platform = StubPlatform(broker=stream_broker({SCAN: [SERVICE, CVE, COMPLETE, RULE, SETTLED]}))
    status, _, body = call(platform, "target_ip=127.0.0.1&depth=deep")

    assert status == 200
    data = body["data"]
    assert isinstance(data, dict)
    assert (data["scan_id"], data["status"], data["threats_found"], data["findings_settled"]) == (
        SCAN,
        "completed",
        2,
        True,
    )
    assert [(f["type"], f["severity"], f["details"], f["cve"]) for f in data["findings"]] == [
        ("vulnerable_service", "critical", "t", "CVE-2024-6387"),
        ("exposure", "medium", "t", None),
    ]
    assert data["timestamp"]
    (created,) = platform.scan.requests["CreateScan"]
    assert list(created.targets) == ["127.0.0.1"]
    assert created.profile == scan_pb2.SCAN_PROFILE_PENTEST
    assert created.options.service_detection


def test_include_vulns_false_leaves_out_the_cves_but_keeps_the_rule_findings() -> None:
    platform = StubPlatform(broker=stream_broker({SCAN: [SERVICE, CVE, COMPLETE, RULE, SETTLED]}))
    _, _, body = call(platform, "target_ip=127.0.0.1&include_vulns=false")
    data = body["data"]
    assert isinstance(data, dict)
    assert [f["cve"] for f in data["findings"]] == [None]
    assert data["threats_found"] == 1
    (created,) = platform.scan.requests["CreateScan"]
    assert created.profile == scan_pb2.SCAN_PROFILE_COMPLIANCE


def test_a_scan_still_running_at_the_wait_answers_202_with_what_is_found_and_where_to_poll() -> None:
    platform = StubPlatform(broker=stream_broker({SCAN: [SERVICE, CVE]}))
    status, headers, body = call(platform, "target_ip=127.0.0.1&depth=quick&wait=1")

    assert status == 202
    assert headers["location"] == f"/api/v1/scans/{SCAN}/results"
    data = body["data"]
    assert isinstance(data, dict)
    assert (data["status"], data["threats_found"], data["findings_settled"]) == ("running", 1, False)
    (created,) = platform.scan.requests["CreateScan"]
    assert (created.ports, created.options.fast_mode) == ("top-100", True)


def test_the_scan_is_refused_as_post_scans_would_refuse_it() -> None:
    platform = StubPlatform()
    platform.scan.fail(
        "CreateScan",
        rpc_error(grpc.StatusCode.PERMISSION_DENIED, "outside the authorised scope", "TARGET_NOT_ALLOWED"),
    )
    status, _, body = call(platform, "target_ip=8.8.8.8")
    assert status == 403
    error = body["error"]
    assert isinstance(error, dict)
    assert error["code"] == "TARGET_NOT_ALLOWED"


def test_it_needs_the_scope_to_start_scans_and_a_valid_depth_and_wait() -> None:
    platform = StubPlatform()
    assert call(platform, "target_ip=127.0.0.1", "scans:read")[0] == 403
    assert call(platform, "target_ip=127.0.0.1&depth=extreme")[0] == 422
    assert call(platform, "target_ip=127.0.0.1&wait=121")[0] == 422
    assert call(platform, "depth=quick")[0] == 422
    assert platform.scan.requests.get("CreateScan", []) == []


def test_the_openapi_document_shows_both_the_final_and_the_not_yet_final_answer() -> None:
    with StubPlatform().client() as client:
        responses = client.get("/openapi.json").json()["paths"]["/api/v1/threats/scan"]["get"]["responses"]
    assert responses["200"]["content"] == responses["202"]["content"]
    assert {"403", "422", "429"} <= set(responses)
