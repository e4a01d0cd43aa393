"""Account handlers against a stub auth-service: key secrets, registration, tokens, profile, errors."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest
from starlette.testclient import TestClient

from gateway.tests.stubs import StubPlatform, rpc_error
from rampart.common.v1 import common_pb2


@pytest.fixture
def platform() -> StubPlatform:
    return StubPlatform()


@pytest.fixture
def client(platform: StubPlatform) -> Iterator[TestClient]:
    with platform.client() as test_client:
        yield test_client


def test_a_key_secret_is_shown_on_create_and_rotate_only(platform: StubPlatform, client: TestClient) -> None:
    headers = platform.token("keys:manage")
    created = client.post("/api/v1/api-keys", json={"name": "ci", "scopes": ["scans:read"]}, headers=headers)
    assert created.status_code == 201
    key = created.json()["data"]
    secret = key["api_key"]
    assert secret == "sk_live_0001SECRET0001"
    assert (key["key_id"], key["name"], key["mode"], key["scopes"]) == (
        "key_0001",
        "ci",
        "live",
        ["scans:read"],
    )
    listed = client.get("/api/v1/api-keys", headers=headers)
    assert listed.json()["data"]["total"] == 1
    assert "api_key" not in listed.json()["data"]["items"][0]
    rotated = client.post("/api/v1/api-keys/key_0001/rotate", headers=headers)
    assert rotated.status_code == 201
    new_secret = rotated.json()["data"]["api_key"]
    assert new_secret.startswith("sk_live_")
    assert new_secret != secret
    revoked = client.delete(f"/api/v1/api-keys/{rotated.json()['data']['key_id']}", headers=headers)
    assert revoked.json()["data"]["revoked_at"] is not None
    everything = client.get("/api/v1/api-keys?include_revoked=true", headers=headers)
    for reply in (listed, revoked, everything):
        assert "SECRET" not in reply.text
        assert "api_key" not in reply.text
    assert everything.json()["data"]["total"] == 2


def test_create_key_sends_mode_scopes_and_a_utc_expiry(platform: StubPlatform, client: TestClient) -> None:
    body = {"mode": "test", "scopes": ["scans:read"], "expires_at": "2030-01-02T03:04:05"}
    reply = client.post("/api/v1/api-keys", json=body, headers=platform.token("keys:manage"))
    assert reply.json()["data"]["mode"] == "test"
    sent = platform.auth.last("CreateApiKey")
    assert (sent.mode, list(sent.scopes)) == (common_pb2.KEY_MODE_TEST, ["scans:read"])
    assert sent.expires_at.ToJsonString() == "2030-01-02T03:04:05Z"  # a naive time is read as UTC
    assert sent.owner.key_id == "key_1"  # auth-service decides what this caller may create


def test_listing_passes_include_revoked_on(platform: StubPlatform, client: TestClient) -> None:
    client.get("/api/v1/api-keys?include_revoked=true", headers=platform.token("keys:manage"))
    assert platform.auth.last("ListApiKeys").include_revoked is True
    reply = client.get("/api/v1/api-keys?include_revoked=maybe", headers=platform.token("keys:manage"))
    assert (reply.status_code, reply.json()["error"]["details"]["field"]) == (422, "include_revoked")


def test_a_key_auth_service_does_not_know_is_404_not_found(
    platform: StubPlatform, client: TestClient
) -> None:
    reply = client.delete("/api/v1/api-keys/key_9999", headers=platform.token("keys:manage"))
    assert (reply.status_code, reply.json()["error"]["code"]) == (404, "NOT_FOUND")


def test_registration_hands_out_the_first_key_and_never_echoes_a_password(
    platform: StubPlatform, client: TestClient
) -> None:
    reply = client.post("/api/v1/auth/register", json={"email": "a@example.com", "password": "pw-1"})
    assert reply.status_code == 201
    data = reply.json()["data"]
    assert (data["user_id"], data["org_id"], data["key_id"]) == ("usr_1", "org_1", "key_0001")
    assert data["api_key"] == "sk_live_0001SECRET0001"
    assert platform.auth.last("Register").password == "pw-1"
    too_long = "p" * 257
    refused = client.post("/api/v1/auth/register", json={"email": "a@example.com", "password": too_long})
    assert (refused.status_code, refused.json()["error"]["details"]["field"]) == (422, "password")
    assert "ppp" not in refused.text


def test_a_busy_auth_service_is_503_with_retry_after(platform: StubPlatform, client: TestClient) -> None:
    busy = rpc_error(
        grpc.StatusCode.RESOURCE_EXHAUSTED, "hashing is busy; retry shortly", "SERVICE_BUSY", retry_after=3
    )
    platform.auth.fail("Register", busy)
    reply = client.post("/api/v1/auth/register", json={"email": "a@example.com", "password": "pw-1"})
    assert reply.status_code == 503
    assert reply.headers["retry-after"] == "3"
    assert reply.json()["error"] == {
        "code": "SERVICE_BUSY",
        "message": "hashing is busy; retry shortly",
        "details": {"retry_after": 3},
    }


def test_a_token_is_given_at_the_top_level_and_in_the_envelope(
    platform: StubPlatform, client: TestClient
) -> None:
    reply = client.post(
        "/api/v1/auth/token", data={"username": "a@example.com", "password": "pw", "scope": "a b"}
    )
    body = reply.json()
    assert (body["access_token"], body["token_type"], body["expires_in"]) == ("a.b.c", "bearer", 3600)
    assert body["data"]["access_token"] == "a.b.c"
    assert body["success"] is True
    assert reply.headers["cache-control"] == "no-store"
    assert list(platform.auth.last("IssueToken").scopes) == ["a", "b"]
    missing = client.post("/api/v1/auth/token", data={"username": "a@example.com"})
    assert (missing.status_code, missing.json()["error"]["details"]) == (422, {"field": "password"})


def test_a_stream_ticket_is_asked_for_the_callers_owner_and_scan(
    platform: StubPlatform, client: TestClient
) -> None:
    reply = client.post(
        "/api/v1/auth/stream-ticket", json={"scope": "scan_0001"}, headers=platform.token("scans:read")
    )
    assert reply.status_code == 201
    assert reply.json()["data"]["expires_in"] == 60
    sent = platform.auth.last("IssueStreamTicket")
    assert (sent.scope, sent.owner.org_id) == ("scan_0001", "org_1")


def test_the_profile_shows_plan_credential_and_usage(platform: StubPlatform, client: TestClient) -> None:
    data = client.get("/api/v1/user/profile", headers=platform.token("scans:read", mode="test")).json()[
        "data"
    ]
    assert data["plan"]["name"] == "pro"
    assert data["credential"] == {"type": "api_key", "mode": "test", "key_id": "key_1"}
    assert data["usage"]["requests_this_hour"]["limit"] == 10_000
    assert data["usage"]["requests_this_hour"]["used"] == 1  # this request
    assert data["usage"]["scans_today"] == {"used": 0, "limit": 50}


def test_stats_count_the_organisations_scans_and_keys(platform: StubPlatform, client: TestClient) -> None:
    headers = platform.token("scans:write", "keys:manage")
    client.post("/api/v1/scans", json={"target": "10.0.0.1"}, headers=headers)
    client.post("/api/v1/api-keys", json={}, headers=headers)
    data = client.get("/api/v1/stats", headers=headers).json()["data"]
    assert data["scans"] == {"total": 1, "today": 1, "active": 0, "by_status": {"queued": 1}}
    assert data["api_keys"] == {"active": 1}
