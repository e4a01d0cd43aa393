"""Keys, tickets and worlds through the gateway (issue 8, items 5, 6, 7 and 15)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx2 as httpx
import pytest

from rampart_devtools.devstack import DevStack
from tests.integration.conftest import PASSWORD, assert_refused, bearer, register
from tests.integration.scanning import wait_for


def new_key(api: httpx.Client, secret: str, **body: Any) -> dict[str, Any]:
    reply = api.post("/api/v1/api-keys", json=body, headers=bearer(secret))
    assert reply.status_code == 201, reply.text
    data: dict[str, Any] = reply.json()["data"]
    return data


def key_ids(api: httpx.Client, secret: str) -> set[str]:
    listed = api.get("/api/v1/api-keys", headers=bearer(secret)).json()["data"]["items"]
    return {key["key_id"] for key in listed}


def jwt_of(api: httpx.Client, account: dict[str, str]) -> str:
    email = api.get("/api/v1/user/profile", headers=bearer(account["api_key"])).json()["data"]["email"]
    reply = api.post("/api/v1/auth/token", data={"username": email, "password": PASSWORD})
    assert reply.status_code == 200, reply.text
    return str(reply.json()["access_token"])


def ticket_of(api: httpx.Client, secret: str, scope: str = "") -> str:
    reply = api.post("/api/v1/auth/stream-ticket", json={"scope": scope}, headers=bearer(secret))
    assert reply.status_code == 201, reply.text
    return str(reply.json()["data"]["ticket"])


def start_scan(api: httpx.Client, secret: str, ports: str = "1-3") -> str:
    reply = api.post("/api/v1/scans", json={"target": "127.0.0.1", "ports": ports}, headers=bearer(secret))
    assert reply.status_code == 201, reply.text
    return str(reply.json()["data"]["scan_id"])


# ---- 5. a key never mints, rotates into or revokes a stronger key -------------------------------


def test_a_narrow_test_key_cannot_create_live_or_broader_keys(api: httpx.Client) -> None:
    owner = register(api)
    narrow = new_key(api, owner["api_key"], name="ci", mode="test", scopes=["keys:manage"])
    before = key_ids(api, owner["api_key"])
    for body in (
        {"mode": "live", "scopes": ["*"]},
        {"mode": "live", "scopes": ["keys:manage"]},
        {"mode": "test", "scopes": ["*"]},
        {"mode": "test"},  # no scopes means "*"
        {"mode": "test", "scopes": ["keys:manage", "scans:write"]},
    ):
        reply = api.post("/api/v1/api-keys", json=body, headers=bearer(narrow["api_key"]))
        refused = assert_refused(reply, 403, "INSUFFICIENT_PERMISSIONS")
        assert "api_key" not in refused["error"]["details"], body
    assert key_ids(api, owner["api_key"]) == before  # nothing was created
    same = new_key(api, narrow["api_key"], mode="test", scopes=["keys:manage"])
    assert same["api_key"].startswith("sk_test_")
    assert same["scopes"] == ["keys:manage"]


def test_a_narrow_key_cannot_rotate_or_revoke_the_owners_key(api: httpx.Client) -> None:
    owner = register(api)
    manager = new_key(api, owner["api_key"], name="mgr", scopes=["keys:manage", "scans:read"])
    rotate = api.post(f"/api/v1/api-keys/{owner['key_id']}/rotate", headers=bearer(manager["api_key"]))
    body = assert_refused(rotate, 403, "INSUFFICIENT_PERMISSIONS")
    assert "api_key" not in body.get("data", {})
    revoke = api.delete(f"/api/v1/api-keys/{owner['key_id']}", headers=bearer(manager["api_key"]))
    assert_refused(revoke, 403, "INSUFFICIENT_PERMISSIONS")
    assert api.get("/api/v1/user/profile", headers=bearer(owner["api_key"])).status_code == 200
    # within its own rights a key manages keys, itself included
    reader = new_key(api, manager["api_key"], scopes=["scans:read"])
    rotated = api.post(f"/api/v1/api-keys/{reader['key_id']}/rotate", headers=bearer(manager["api_key"]))
    assert rotated.status_code == 201, rotated.text
    assert rotated.json()["data"]["scopes"] == ["scans:read"]
    own = api.delete(f"/api/v1/api-keys/{manager['key_id']}", headers=bearer(manager["api_key"]))
    assert own.status_code == 200, own.text
    assert own.json()["data"]["revoked_at"] is not None


def test_a_test_key_cannot_rotate_or_revoke_a_live_key(api: httpx.Client) -> None:
    owner = register(api)
    tester = new_key(api, owner["api_key"], mode="test")
    helper = new_key(api, owner["api_key"], mode="live", scopes=["scans:read"])
    for target in (owner["key_id"], helper["key_id"]):
        rotate = api.post(f"/api/v1/api-keys/{target}/rotate", headers=bearer(tester["api_key"]))
        assert_refused(rotate, 403, "INSUFFICIENT_PERMISSIONS")
        revoke = api.delete(f"/api/v1/api-keys/{target}", headers=bearer(tester["api_key"]))
        assert_refused(revoke, 403, "INSUFFICIENT_PERMISSIONS")
    # the live key stays above it: it may rotate the test key
    rotated = api.post(f"/api/v1/api-keys/{tester['key_id']}/rotate", headers=bearer(owner["api_key"]))
    assert rotated.status_code == 201, rotated.text
    assert rotated.json()["data"]["api_key"].startswith("sk_test_")


def test_a_signed_in_user_may_create_and_rotate_any_key(api: httpx.Client) -> None:
    owner = register(api)
    token = jwt_of(api, owner)
    live = new_key(api, token, mode="live", scopes=["*"])
    test = new_key(api, token, mode="test", scopes=["*"])
    assert (live["api_key"][:8], test["api_key"][:8]) == ("sk_live_", "sk_test_")
    rotated = api.post(f"/api/v1/api-keys/{owner['key_id']}/rotate", headers=bearer(token))
    assert rotated.status_code == 201, rotated.text


# ---- 6. stream tickets open streams and nothing else; they die with their key --------------------


def test_a_ticket_is_not_a_credential_outside_its_stream(api: httpx.Client) -> None:
    owner = register(api)
    scan_id = start_scan(api, owner["api_key"])
    ticket = ticket_of(api, owner["api_key"])
    before = key_ids(api, owner["api_key"])
    minted = api.post("/api/v1/api-keys", json={"scopes": ["*"]}, headers=bearer(ticket))
    body = assert_refused(minted, 401, "INVALID_API_KEY")
    assert "?ticket=" in body["error"]["message"]
    assert_refused(api.get("/api/v1/user/profile", headers=bearer(ticket)))
    stream = f"/api/v1/scans/{scan_id}/stream"
    assert_refused(api.get(stream, headers=bearer(ticket)))  # not as a header, even on a stream
    assert_refused(api.get(f"{stream}?api_key={ticket}"))
    assert_refused(api.get(f"/api/v1/scans/{scan_id}?ticket={ticket}"))
    assert key_ids(api, owner["api_key"]) == before
    # refused uses did not spend it: it still opens its stream, once
    with api.stream("GET", f"{stream}?ticket={ticket}", timeout=30) as reply:
        assert reply.status_code == 200, reply.read().decode()
        assert reply.headers["content-type"].startswith("text/event-stream")
    assert_refused(api.get(f"{stream}?ticket={ticket}"))


def test_a_ticket_is_refused_once_its_key_is_revoked(api: httpx.Client) -> None:
    owner = register(api)
    other = new_key(api, owner["api_key"], name="browser")
    scan_id = start_scan(api, owner["api_key"])
    ticket = ticket_of(api, other["api_key"], scan_id)
    revoked = api.delete(f"/api/v1/api-keys/{other['key_id']}", headers=bearer(owner["api_key"]))
    assert revoked.status_code == 200, revoked.text
    body = assert_refused(api.get(f"/api/v1/scans/{scan_id}/stream?ticket={ticket}"))
    assert body["error"]["message"] == "stream ticket is invalid, used or expired"


# ---- 15. test keys and live keys live in separate worlds ----------------------------------------


def test_test_keys_and_live_keys_see_only_their_own_world(api: httpx.Client) -> None:
    owner = register(api)
    live_key = owner["api_key"]
    test_key = new_key(api, live_key, name="sandbox", mode="test")["api_key"]
    live_scan, sandbox_scan = start_scan(api, live_key), start_scan(api, test_key)
    assert wait_for(api, bearer(live_key), live_scan)["status"] == "completed"
    assert wait_for(api, bearer(test_key), sandbox_scan)["status"] == "completed"

    for key, own, foreign in ((test_key, sandbox_scan, live_scan), (live_key, live_scan, sandbox_scan)):
        headers = bearer(key)
        listed = api.get("/api/v1/scans?per_page=100", headers=headers).json()["data"]
        assert [scan["scan_id"] for scan in listed["items"]] == [own]
        assert api.get(f"/api/v1/scans/{own}", headers=headers).status_code == 200
        for method, path in (
            ("GET", f"/api/v1/scans/{foreign}"),
            ("GET", f"/api/v1/scans/{foreign}/results"),
            ("GET", f"/api/v1/scans/{foreign}/export?format=json"),
            ("GET", f"/api/v1/scans/{foreign}/export?format=csv"),
            ("GET", f"/api/v1/scans/{foreign}/stream"),
            ("DELETE", f"/api/v1/scans/{foreign}/results"),
            ("DELETE", f"/api/v1/scans/{foreign}"),
        ):
            assert_refused(api.request(method, path, headers=headers), 404, "SCAN_NOT_FOUND")
        ticket = ticket_of(api, key, foreign)
        assert_refused(api.get(f"/api/v1/scans/{foreign}/stream?ticket={ticket}"), 404, "SCAN_NOT_FOUND")
    # what the test key tried changed nothing in the live world
    results = api.get(f"/api/v1/scans/{live_scan}/results", headers=bearer(live_key)).json()["data"]
    assert results["summary"]["total_ports_scanned"] == 3
    # a signed-in user (JWT) works in the live world
    token = jwt_of(api, owner)
    listed = api.get("/api/v1/scans", headers=bearer(token)).json()["data"]
    assert [scan["scan_id"] for scan in listed["items"]] == [live_scan]
    assert_refused(api.get(f"/api/v1/scans/{sandbox_scan}", headers=bearer(token)), 404, "SCAN_NOT_FOUND")


def test_an_idempotency_key_does_not_replay_across_worlds(api: httpx.Client) -> None:
    owner = register(api)
    test_key = new_key(api, owner["api_key"], mode="test")["api_key"]
    body = {"target": "127.0.0.1", "ports": "1"}
    live = api.post("/api/v1/scans", json=body, headers={**bearer(owner["api_key"]), "Idempotency-Key": "k1"})
    assert live.status_code == 201, live.text
    replay = api.post("/api/v1/scans", json=body, headers={**bearer(test_key), "Idempotency-Key": "k1"})
    assert_refused(replay, 409, "IDEMPOTENCY_KEY_REUSED")


# ---- 7. password hashing sheds load instead of exhausting memory ---------------------------------


@pytest.fixture
def small_hash_pool(stack: DevStack) -> Iterator[DevStack]:
    """auth-service restarted with one hashing thread and one waiting place, then restored."""
    settings = {"PASSWORD_HASH_CONCURRENCY": "1", "PASSWORD_HASH_QUEUE": "1"}

    def restart_auth() -> None:
        stack.stop("auth")
        stack.start("auth")
        stack.wait_health(200, deadline=60)

    stack.extra_env.update(settings)
    restart_auth()
    try:
        yield stack
    finally:
        for name in settings:
            stack.extra_env.pop(name, None)
        restart_auth()


async def test_a_burst_of_logins_is_shed_with_503_service_busy_not_500(
    small_hash_pool: DevStack, api: httpx.Client
) -> None:
    owner = register(api)
    email = api.get("/api/v1/user/profile", headers=bearer(owner["api_key"])).json()["data"]["email"]
    form = {"username": email, "password": PASSWORD}
    async with httpx.AsyncClient(base_url=small_hash_pool.gateway_url, timeout=60) as client:
        async with asyncio.timeout(120):
            replies = await asyncio.gather(*(client.post("/api/v1/auth/token", data=form) for _ in range(16)))
    statuses = sorted(reply.status_code for reply in replies)
    assert set(statuses) <= {200, 503}, statuses
    assert 200 in statuses, statuses
    assert 503 in statuses, statuses
    for reply in replies:
        if reply.status_code == 503:
            body = assert_refused(reply, 503, "SERVICE_BUSY")
            assert 1 <= int(reply.headers["retry-after"]) <= 60
            assert body["error"]["details"]["retry_after"] == int(reply.headers["retry-after"])
        else:
            assert reply.json()["token_type"] == "bearer"
    # the shed requests can simply come back
    later = api.post("/api/v1/auth/token", data=form)
    assert later.status_code == 200, later.text
