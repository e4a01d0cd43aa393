"""Every operation enforces the scope it declares, before its handler runs (stub services)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from gateway.tests.stub_report import control
from gateway.tests.stub_vulnerabilities import RECORD_ID, sample
from gateway.tests.stubs import StubPlatform
from rampart.common.v1 import common_pb2
from rampart.lib.catalogue.scopes import ALL_SCOPES, SCOPES
from rampart.report.v1 import report_pb2
from rampart.scan.v1 import scan_pb2
from rampart.threat.v1 import threat_pb2
from rampart_gateway.app import operations
from rampart_gateway.operations import Operation

SCOPED = [op for op in operations() if op.scope]
AUTHENTICATED = [op for op in operations() if op.auth]
BODIES = {
    "/api/v1/scans": {"target": "127.0.0.1"},
    "/api/v1/threats/analyze": {"target": "example.com"},
    "/api/v1/incidents": {"title": "t", "severity": "low"},
    "/api/v1/incidents/{incident_id}": {"status": "triaged"},
    "/api/v1/incidents/{incident_id}/comments": {"body": "b"},
    "/api/v1/vulnerabilities/{vulnerability_id}": {"status": "confirmed"},
    "/api/v1/threats/lists": {"list": "deny", "value": "evil.example"},
    "/api/v1/webhooks": {"url": "https://hooks.example.com/in", "events": ["scan.completed"]},
    "/api/v1/webhooks/{webhook_id}": {"enabled": True},
    "/api/v1/ai/ask": {"question": "What is exposed?"},
    "/api/v1/ai/explain": {"concept": "tls"},
    "/api/v1/ai/report": {"scan_id": "scan_1"},
    "/api/v1/controls/{control_id}": {"status": "passing", "note": "approved"},
    "/api/v1/schedules": {"targets": ["127.0.0.1"], "interval_seconds": 3600},
    "/api/v1/schedules/{schedule_id}": {"enabled": False},
    "/api/v1/reports": {"type": "technical", "scan_ids": ["scan_0001"]},
    "/api/v1/alerts/preferences": {"rules": {"port_closed": {"enabled": True}}},
}
UNRELATED_SCOPE = "keys:manage"  # a real scope the scope-less operations below ignore


def unrelated_scope(op: Operation) -> str:
    """A real scope that is not the one ``op`` declares."""
    return next(name for name in SCOPES if name not in (ALL_SCOPES, op.scope))


def url(op: Operation) -> str:
    path = op.path.replace("{scan_id}", "scan_0001").replace("{key_id}", "key_0001")
    path = path.replace("{incident_id}", "inc_0001")
    path = path.replace("{analysis_id}", "ana_0001").replace("{entry_id}", "ile_0001")
    path = path.replace("{cve_id}", "CVE-2024-6387").replace("{vulnerability_id}", RECORD_ID)
    path = path.replace("{asset_id}", "asset_0001").replace("{schedule_id}", "sched_0001")
    path = path.replace("{history_id}", "aih_0001")
    path = path.replace("{webhook_id}", "whk_0001").replace("{delivery_id}", "dlv_0001")
    path = path.replace("{report_id}", "rep_0001")
    path = path.replace("{framework}", "pci-dss").replace("{control_id}", "pci-dss:12.10.1")
    if path.endswith("/vulnerabilities/catalog"):
        return path + "?product=openssh&version=9.2p1"
    if path.endswith("/threats/scan"):
        return path + "?target_ip=127.0.0.1&wait=0"  # 202 at once: no stream to follow
    return path + ("?last_event_id=x" if path.endswith("/stream") else "")  # a 422, not a live stream


def send(client: TestClient, op: Operation, headers: dict[str, str]) -> tuple[int, dict]:
    body = BODIES.get(op.path, {}) if op.method in ("POST", "PATCH", "PUT") else None
    reply = client.request(op.method, url(op), json=body, headers=headers)
    if not reply.headers.get("content-type", "").startswith("application/json"):
        return reply.status_code, {"raw": reply.content[:100]}  # a file (a report's download)
    return reply.status_code, reply.json()


@pytest.fixture
def platform() -> StubPlatform:
    stub = StubPlatform()
    owner = common_pb2.Owner(org_id="org_1")
    stub.scan.add(scan_pb2.Scan(scan_id="scan_0001", owner=owner, status=scan_pb2.SCAN_STATUS_COMPLETED))
    stub.auth.add_key("seed")  # key_0001
    stub.scan.schedules["sched_0001"] = scan_pb2.Schedule(schedule_id="sched_0001", owner=owner)
    stub.threat.incidents["inc_0001"] = threat_pb2.Incident(incident_id="inc_0001", owner=owner)
    stub.threat.add(threat_pb2.ThreatAnalysis(analysis_id="ana_0001"), "org_1")
    stub.threat.add_list_entry("org_1", threat_pb2.IndicatorListEntry(entry_id="ile_0001", list="deny"))
    stub.threat.vulnerabilities[RECORD_ID] = sample()
    stub.threat.add_asset("org_1", threat_pb2.Asset(asset_id="asset_0001"))
    stub.report.webhooks["whk_0001"] = report_pb2.Webhook(webhook_id="whk_0001", owner=owner)
    stub.report.deliveries["dlv_0001"] = report_pb2.WebhookDelivery(
        delivery_id="dlv_0001", webhook_id="whk_0001"
    )
    stub.report.add_ready("rep_0001", owner, b"%PDF-1.7 report", "rep_0001.pdf")
    stub.report.controls["org_1"].append(control("pci-dss:12.10.1", report_pb2.CONTROL_STATUS_MANUAL))
    return stub


@pytest.fixture
def client(platform: StubPlatform) -> Iterator[TestClient]:
    with platform.client() as test_client:
        yield test_client


def test_only_the_callers_own_account_operations_need_no_scope() -> None:
    """A new operation behind a credential must declare a scope, or be added here on purpose."""
    unscoped = {(op.method, op.path) for op in AUTHENTICATED if op.scope is None}
    assert unscoped == {
        ("POST", "/api/v1/auth/stream-ticket"),
        ("GET", "/api/v1/user/profile"),
        ("GET", "/api/v1/stats"),
    }


@pytest.mark.parametrize("op", SCOPED, ids=lambda op: f"{op.method} {op.path}")
def test_a_credential_without_the_declared_scope_is_refused_before_the_handler(
    platform: StubPlatform, client: TestClient, op: Operation
) -> None:
    status, body = send(client, op, platform.token(unrelated_scope(op)))
    assert status == 403
    assert body["error"] == {
        "code": "INSUFFICIENT_PERMISSIONS",
        "message": f"this credential lacks the '{op.scope}' scope",
        "details": {"required_scope": op.scope},
    }
    assert platform.calls() == 0  # no service was asked anything


@pytest.mark.parametrize("op", SCOPED, ids=lambda op: f"{op.method} {op.path}")
def test_a_credential_with_exactly_the_declared_scope_reaches_the_handler(
    platform: StubPlatform, client: TestClient, op: Operation
) -> None:
    status, body = send(client, op, platform.token(str(op.scope)))
    if op.path.endswith("/stream"):
        assert (status, body["error"]["details"]["field"]) == (422, "last_event_id")  # parsed by the handler
    else:
        assert status < 400, body


@pytest.mark.parametrize("op", AUTHENTICATED, ids=lambda op: f"{op.method} {op.path}")
def test_an_operation_with_auth_is_401_without_a_credential(client: TestClient, op: Operation) -> None:
    reply = client.request(op.method, url(op), json={} if op.method == "POST" else None)
    assert reply.status_code == 401
    assert reply.json()["error"]["code"] == "INVALID_API_KEY"
    assert reply.headers["www-authenticate"] == 'Bearer realm="rampart"'


def test_a_refused_credential_is_401_with_the_front_doors_reason(client: TestClient) -> None:
    reply = client.get("/api/v1/stats", headers={"Authorization": "Bearer sk_live_unknown"})
    assert reply.status_code == 401
    assert reply.json()["error"]["message"] == "API key is missing or invalid"


def test_operations_declared_without_a_scope_accept_any_credential(
    platform: StubPlatform, client: TestClient
) -> None:
    headers = platform.token(UNRELATED_SCOPE)
    assert client.get("/api/v1/stats", headers=headers).status_code == 200
    assert client.get("/api/v1/user/profile", headers=headers).status_code == 200
    assert client.post("/api/v1/auth/stream-ticket", json={}, headers=headers).status_code == 201


def test_the_route_keeps_the_handlers_name_for_metrics_and_the_document() -> None:
    op = next(op for op in SCOPED if op.path == "/api/v1/scans" and op.method == "GET")
    assert op.route().name == "list_scans"
    assert op.guarded().__name__ == "list_scans"


def test_a_scope_without_auth_is_a_declaration_error() -> None:
    async def handler(request):  # type: ignore[no-untyped-def]
        raise AssertionError

    with pytest.raises(ValueError, match="a scope needs auth"):
        Operation("GET", "/x", handler, "x", "x", scope="scans:read", auth=False)


def close_code(client: TestClient, path: str) -> tuple[int, str]:
    with client.websocket_connect(path) as websocket, pytest.raises(WebSocketDisconnect) as closed:
        websocket.receive_json()
    return closed.value.code, closed.value.reason


def test_the_websocket_closes_4401_without_a_credential_and_4403_without_scans_read(
    platform: StubPlatform, client: TestClient
) -> None:
    assert close_code(client, "/ws/scans/scan_0001") == (4401, "API key is missing")
    token = platform.credential(UNRELATED_SCOPE)
    assert close_code(client, f"/ws/scans/scan_0001?api_key={token}") == (
        4403,
        "this credential lacks the 'scans:read' scope",
    )
    assert "GetScan" not in platform.scan.requests


def test_the_websocket_with_scans_read_reaches_its_handler(
    platform: StubPlatform, client: TestClient
) -> None:
    token = platform.credential("scans:read")
    assert close_code(client, f"/ws/scans/scan_9999?api_key={token}")[0] == 4404
    assert close_code(client, f"/ws/scans/scan_0001?api_key={token}&last_event_id=%C2%B2")[0] == 4400
    code, reason = close_code(client, f"/ws/scans/scan_0001?api_key={token}")
    assert (code, reason) == (
        4503,
        "the event stream is unavailable; retry shortly",
    )  # the stub has no broker
