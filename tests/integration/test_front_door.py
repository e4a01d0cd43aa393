"""The front door through the gateway: accounts, keys, JWTs, isolation, rate limits, logs."""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import httpx2 as httpx
import jwt
import pymongo
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from rampart.auth.v1 import auth_pb2, auth_pb2_grpc
from rampart.common.v1 import common_pb2
from rampart.lib.ids import new_id
from rampart_devtools.devstack import DevStack
from tests.integration.conftest import PASSWORD, assert_refused, bearer, register


def test_register_then_the_key_authenticates(api: httpx.Client) -> None:
    account = register(api)
    assert account["api_key"].startswith("sk_live_")
    assert len(account["api_key"]) == len("sk_live_") + 32
    reply = api.get("/api/v1/user/profile", headers=bearer(account["api_key"]))
    assert reply.status_code == 200
    profile = reply.json()["data"]
    assert profile["user_id"] == account["user_id"]
    assert profile["organization"]["id"] == account["org_id"]
    assert profile["plan"] == {
        "name": "free",
        "requests_per_hour": 100,
        "scans_per_day": 10,
        "concurrent_scans": 2,
        "concurrent_streams": 5,
        "ai_requests_per_day": 50,
        "ai_tokens_per_day": 20_000,
    }
    assert profile["credential"] == {"type": "api_key", "mode": "live", "key_id": account["key_id"]}
    assert profile["usage"]["requests_this_hour"]["used"] == 1


def test_registration_input_is_validated_and_changes_nothing(
    api: httpx.Client, store: pymongo.MongoClient
) -> None:
    users = store["rampart_auth"]["users"]
    before = users.count_documents({})
    cases = [
        ({"email": "not-an-email", "password": PASSWORD}, 422, "email"),
        ({"email": "weak@example.com", "password": "short1"}, 422, "password"),
        ({"email": "weak@example.com", "password": "aaaaaaaaaaaaaaaaaaaa"}, 422, "password"),
        ({"email": "x@example.com", "password": PASSWORD, "admin": True}, 422, "admin"),
        ({"password": PASSWORD}, 422, "email"),
    ]
    for payload, status, field in cases:
        body = assert_refused(api.post("/api/v1/auth/register", json=payload), status, "VALIDATION_ERROR")
        assert body["error"]["details"]["field"] == field, payload
        assert payload.get("password", "") not in json.dumps(body["error"]) or payload["password"] == ""
    assert_refused(api.post("/api/v1/auth/register", content=b"{not json"), 400, "BAD_REQUEST")
    assert users.count_documents({}) == before

    account = register(api)
    email = store["rampart_auth"]["users"].find_one({"_id": account["user_id"]})["email"]
    again = api.post("/api/v1/auth/register", json={"email": email.upper(), "password": PASSWORD})
    body = assert_refused(again, 409, "EMAIL_TAKEN")
    assert account["user_id"] not in again.text


def test_bad_credentials_are_refused_with_invalid_api_key(
    api: httpx.Client, store: pymongo.MongoClient
) -> None:
    account = register(api)
    expiring = api.post("/api/v1/api-keys", json={"name": "soon"}, headers=bearer(account["api_key"])).json()[
        "data"
    ]
    store["rampart_auth"]["api_keys"].update_one(
        {"_id": expiring["key_id"]}, {"$set": {"expires_at": datetime.now(UTC) - timedelta(seconds=1)}}
    )
    revoked = api.post("/api/v1/api-keys", json={"name": "gone"}, headers=bearer(account["api_key"])).json()[
        "data"
    ]
    api.delete(f"/api/v1/api-keys/{revoked['key_id']}", headers=bearer(account["api_key"]))
    cases = {
        "missing": {},
        "bearer without a value": {"Authorization": "Bearer"},
        "other scheme": {"Authorization": f"Basic {base64.b64encode(b'a:b').decode()}"},
        "malformed": bearer("sk_live_short"),
        "wrong": bearer("sk_live_" + "A" * 32),
        "expired": bearer(expiring["api_key"]),
        "revoked": bearer(revoked["api_key"]),
    }
    for name, headers in cases.items():
        reply = api.get("/api/v1/user/profile", headers=headers)
        assert_refused(reply)
        assert reply.headers["www-authenticate"].startswith("Bearer"), name


def test_revoked_key_stops_working_within_a_second_on_a_gateway_that_cached_it(api: httpx.Client) -> None:
    account = register(api)
    other = api.post("/api/v1/api-keys", json={"name": "cached"}, headers=bearer(account["api_key"])).json()[
        "data"
    ]
    assert api.get("/api/v1/user/profile", headers=bearer(other["api_key"])).status_code == 200  # now cached
    revoke = api.delete(f"/api/v1/api-keys/{other['key_id']}", headers=bearer(account["api_key"]))
    assert revoke.status_code == 200
    assert revoke.json()["data"]["revoked_at"] is not None
    revoked_at = time.monotonic()
    while api.get("/api/v1/user/profile", headers=bearer(other["api_key"])).status_code != 401:
        assert time.monotonic() - revoked_at < 1.0, "revoked key still accepted after 1 s"
        time.sleep(0.02)
    assert api.get("/api/v1/user/profile", headers=bearer(account["api_key"])).status_code == 200


def signing_key(stack: DevStack) -> tuple[str, Ed25519PrivateKey]:
    path = sorted((stack.data_dir / "secrets" / "jwt").glob("*.pem"))[-1]
    key = load_pem_private_key(path.read_bytes(), password=None)
    assert isinstance(key, Ed25519PrivateKey)
    return Path(path).stem, key


def test_jwt_from_the_password_grant_authenticates(api: httpx.Client) -> None:
    account = register(api)
    reply = api.post("/api/v1/auth/token", data={"username": "nobody@example.com", "password": PASSWORD})
    assert_refused(reply)
    email = api.get("/api/v1/user/profile", headers=bearer(account["api_key"])).json()["data"]["email"]
    assert_refused(api.post("/api/v1/auth/token", data={"username": email, "password": "wrong-password-1"}))
    reply = api.post("/api/v1/auth/token", data={"username": email, "password": PASSWORD})
    assert reply.status_code == 200
    token = reply.json()
    assert token["token_type"] == "bearer"
    assert token["expires_in"] == 3600
    assert token["data"]["access_token"] == token["access_token"]
    profile = api.get("/api/v1/user/profile", headers=bearer(token["access_token"])).json()["data"]
    assert profile["user_id"] == account["user_id"]
    assert profile["credential"]["type"] == "jwt"


def test_forged_jwts_are_refused(api: httpx.Client, stack: DevStack) -> None:
    account = register(api)
    kid, real_key = signing_key(stack)
    now = int(time.time())
    good = {
        "iss": "rampart",
        "aud": "rampart-api",
        "sub": account["user_id"],
        "org": account["org_id"],
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "scope": "*",
    }
    assert (
        api.get(
            "/api/v1/user/profile", headers=bearer(jwt.encode(good, real_key, "EdDSA", headers={"kid": kid}))
        ).status_code
        == 200
    )

    def unsigned(claims: dict) -> str:
        part = lambda data: base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()  # noqa: E731
        return f"{part({'alg': 'none', 'typ': 'JWT', 'kid': kid})}.{part(claims)}."

    public_raw = real_key.public_key().public_bytes_raw()
    forgeries = {
        "alg none": unsigned(good),
        "other key, same kid": jwt.encode(good, Ed25519PrivateKey.generate(), "EdDSA", headers={"kid": kid}),
        "unknown kid": jwt.encode(good, Ed25519PrivateKey.generate(), "EdDSA", headers={"kid": "attacker"}),
        "expired": jwt.encode(
            {**good, "iat": now - 7200, "nbf": now - 7200, "exp": now - 3600},
            real_key,
            "EdDSA",
            headers={"kid": kid},
        ),
        "not yet valid": jwt.encode({**good, "nbf": now + 3600}, real_key, "EdDSA", headers={"kid": kid}),
        "wrong audience": jwt.encode(
            {**good, "aud": "someone-else"}, real_key, "EdDSA", headers={"kid": kid}
        ),
        "wrong issuer": jwt.encode({**good, "iss": "evil"}, real_key, "EdDSA", headers={"kid": kid}),
        "no org claim": jwt.encode(
            {k: v for k, v in good.items() if k != "org"}, real_key, "EdDSA", headers={"kid": kid}
        ),
        "HS256 with the public key": jwt.encode(good, public_raw + b"\0" * 32, "HS256", headers={"kid": kid}),
        "tampered claims": ".".join(
            [
                *jwt.encode(good, real_key, "EdDSA", headers={"kid": kid}).split(".")[:1],
                base64.urlsafe_b64encode(json.dumps({**good, "org": "org_victim"}).encode())
                .rstrip(b"=")
                .decode(),
                jwt.encode(good, real_key, "EdDSA", headers={"kid": kid}).split(".")[2],
            ]
        ),
    }
    for name, token in forgeries.items():
        reply = api.get("/api/v1/user/profile", headers=bearer(token))
        assert reply.status_code == 401, name
        assert reply.json()["error"]["code"] == "INVALID_API_KEY", name


def test_one_tenant_gets_404_for_another_tenants_keys(api: httpx.Client) -> None:
    alice, bob = register(api), register(api)
    for method, path in (
        ("DELETE", f"/api/v1/api-keys/{bob['key_id']}"),
        ("POST", f"/api/v1/api-keys/{bob['key_id']}/rotate"),
    ):
        reply = api.request(method, path, headers=bearer(alice["api_key"]))
        body = assert_refused(reply, 404, "NOT_FOUND")
        assert bob["key_id"] not in json.dumps(body["error"]["details"]) or body["error"]["details"] == {
            "key_id": bob["key_id"]
        }
    listed = api.get("/api/v1/api-keys", headers=bearer(alice["api_key"])).json()["data"]["items"]
    assert [key["key_id"] for key in listed] == [alice["key_id"]]
    assert api.get("/api/v1/user/profile", headers=bearer(bob["api_key"])).status_code == 200


def test_rate_limit_headers_count_down_and_the_request_over_the_limit_gets_429(
    api: httpx.Client, store: pymongo.MongoClient
) -> None:
    account = register(api)
    store["rampart_auth"]["organizations"].update_one(
        {"_id": account["org_id"]}, {"$set": {"limits": {"requests_per_hour": 3}}}
    )
    seen = []
    for _ in range(3):
        reply = api.get("/api/v1/stats", headers=bearer(account["api_key"]))
        assert reply.status_code == 200
        assert reply.headers["x-ratelimit-limit"] == "3"
        assert int(reply.headers["x-ratelimit-reset"]) > time.time()
        seen.append(int(reply.headers["x-ratelimit-remaining"]))
    assert seen == [2, 1, 0]
    over = api.get("/api/v1/stats", headers=bearer(account["api_key"]))
    body = assert_refused(over, 429, "RATE_LIMIT_EXCEEDED")
    retry_after = int(over.headers["retry-after"])
    assert 1 <= retry_after <= 3600
    assert body["error"]["retry_after"] == retry_after
    assert over.headers["x-ratelimit-remaining"] == "0"


def test_test_and_live_keys_carry_their_mode_to_the_services(api: httpx.Client) -> None:
    account = register(api)
    test_key = api.post(
        "/api/v1/api-keys", json={"name": "sandbox", "mode": "test"}, headers=bearer(account["api_key"])
    ).json()["data"]
    assert test_key["api_key"].startswith("sk_test_")
    assert test_key["mode"] == "test"
    as_test = api.get("/api/v1/user/profile", headers=bearer(test_key["api_key"])).json()["data"]
    as_live = api.get("/api/v1/user/profile", headers=bearer(account["api_key"])).json()["data"]
    assert as_test["credential"]["mode"] == "test"  # as auth-service received it
    assert as_live["credential"]["mode"] == "live"


def test_scopes_limit_what_a_key_may_do(api: httpx.Client) -> None:
    account = register(api)
    narrow = api.post(
        "/api/v1/api-keys", json={"name": "ro", "scopes": ["scans:read"]}, headers=bearer(account["api_key"])
    ).json()["data"]
    body = assert_refused(
        api.get("/api/v1/api-keys", headers=bearer(narrow["api_key"])), 403, "INSUFFICIENT_PERMISSIONS"
    )
    assert body["error"]["details"]["required_scope"] == "keys:manage"
    bad = api.post("/api/v1/api-keys", json={"scopes": ["root"]}, headers=bearer(account["api_key"]))
    assert_refused(bad, 422, "VALIDATION_ERROR")


def test_rotation_issues_a_new_secret_and_retires_the_old(api: httpx.Client) -> None:
    account = register(api)
    rotated = api.post(f"/api/v1/api-keys/{account['key_id']}/rotate", headers=bearer(account["api_key"]))
    assert rotated.status_code == 201
    fresh = rotated.json()["data"]
    assert fresh["api_key"] != account["api_key"]
    assert api.get("/api/v1/user/profile", headers=bearer(fresh["api_key"])).status_code == 200
    deadline = time.monotonic() + 2
    while api.get("/api/v1/user/profile", headers=bearer(account["api_key"])).status_code != 401:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    listed = api.get("/api/v1/api-keys?include_revoked=true", headers=bearer(fresh["api_key"])).json()["data"]
    states = {key["key_id"]: key["revoked_at"] is not None for key in listed["items"]}
    assert states == {account["key_id"]: True, fresh["key_id"]: False}
    assert all("api_key" not in key for key in listed["items"])


def test_passwords_and_full_keys_never_reach_the_logs(api: httpx.Client, stack: DevStack) -> None:
    password = "unique-Pa55word-" + new_id("p")
    account = register(api, password)
    email = api.get("/api/v1/user/profile", headers=bearer(account["api_key"])).json()["data"]["email"]
    extra = api.post("/api/v1/api-keys", json={}, headers=bearer(account["api_key"])).json()["data"][
        "api_key"
    ]
    api.post("/api/v1/auth/token", data={"username": email, "password": password})
    api.post("/api/v1/auth/token", data={"username": email, "password": password + "x"})
    api.post("/api/v1/auth/register", json={"email": email, "password": password})
    api.get("/api/v1/user/profile", headers=bearer(account["api_key"][:-1] + "Z"))
    logs = "".join(path.read_text(errors="replace") for path in (stack.data_dir / "log").glob("*.log"))
    assert logs  # the services do log
    for secret in (password, account["api_key"], extra, account["api_key"][8:]):
        assert secret not in logs


async def test_stream_tickets_are_single_use_and_carry_the_principal(
    api: httpx.Client, stack: DevStack
) -> None:
    account = register(api)
    test_key = api.post("/api/v1/api-keys", json={"mode": "test"}, headers=bearer(account["api_key"])).json()[
        "data"
    ]
    reply = api.post("/api/v1/auth/stream-ticket", json={}, headers=bearer(test_key["api_key"]))
    assert reply.status_code == 201
    ticket = reply.json()["data"]
    assert ticket["ticket"].startswith("st_")
    assert ticket["expires_in"] == 60
    assert_refused(api.post("/api/v1/auth/stream-ticket", json={}))
    async with stack.channel("auth") as channel:
        auth = auth_pb2_grpc.AuthServiceStub(channel)
        redeemed = await auth.RedeemStreamTicket(auth_pb2.RedeemStreamTicketRequest(ticket=ticket["ticket"]))
        assert (redeemed.owner.user_id, redeemed.owner.org_id) == (account["user_id"], account["org_id"])
        assert redeemed.owner.mode == common_pb2.KEY_MODE_TEST
        for used_or_forged in (ticket["ticket"], "st_" + "x" * 43):
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await auth.RedeemStreamTicket(auth_pb2.RedeemStreamTicketRequest(ticket=used_or_forged))
            assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
