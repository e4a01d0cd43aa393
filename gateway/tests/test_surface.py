"""The gateway's public surface without services: OpenAPI, docs, CORS, per-IP limits."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from openapi_spec_validator import validate
from starlette.routing import Route
from starlette.testclient import TestClient

from rampart_devtools.ports import free_port
from rampart_gateway.app import create_app
from rampart_gateway.ratelimit import RateLimits
from rampart_gateway.settings import GatewaySettings


def settings(**overrides: object) -> GatewaySettings:
    dead = f"127.0.0.1:{free_port()}"
    values: dict[str, object] = {
        "mongodb_url": f"mongodb://{dead}/?serverSelectionTimeoutMS=200",
        "nats_url": f"nats://{dead}",
        "auth_addr": dead,
        "scan_addr": dead,
        "threat_addr": dead,
        "ai_addr": dead,
        "report_addr": dead,
        "health_timeout_seconds": 0.3,
    }
    values.update(overrides)
    return GatewaySettings(**values)  # type: ignore[arg-type]


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(create_app(settings())) as test_client:
        yield test_client


def test_every_route_the_gateway_serves_is_in_the_openapi_document(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    validate(spec)  # a valid OpenAPI 3.1 document
    assert spec["openapi"] == "3.1.0"
    served = set()
    for route in client.app.routes:  # type: ignore[attr-defined]
        if (
            isinstance(route, Route)
            and route.include_in_schema
            and route.path not in ("/docs", "/docs/init.js", "/redoc")
        ):
            served |= {(route.path, method.lower()) for method in route.methods or () if method != "HEAD"}
    documented = {(path, method) for path, ops in spec["paths"].items() for method in ops}
    assert served == documented
    profile = spec["paths"]["/api/v1/user/profile"]["get"]
    assert {"401", "429", "500"} <= set(profile["responses"])
    assert profile["security"][0] == {"bearerAuth": []}
    assert spec["paths"]["/api/v1/auth/register"]["post"]["security"] == []
    assert set(spec["components"]["securitySchemes"]) == {"bearerAuth", "oauth2", "apiKeyQuery"}


def test_docs_pages_load_all_their_assets_from_the_gateway(client: TestClient) -> None:
    for page in ("/docs", "/redoc"):
        reply = client.get(page)
        assert reply.status_code == 200
        assert "script-src 'self'" in reply.headers["content-security-policy"]
        assets = re.findall(r'(?:src|href)="([^"]+)"', reply.text)
        assert assets
        for asset in assets:
            assert asset.startswith("/"), f"{page} loads {asset} from elsewhere"
            fetched = client.get(asset)
            assert fetched.status_code == 200, asset
            assert len(fetched.content) > 100


def test_cors_preflight_is_answered_only_for_configured_origins() -> None:
    with TestClient(create_app(settings(cors_origins="https://app.example.com"))) as client:
        allowed = client.options(
            "/api/v1/user/profile",
            headers={
                "Origin": "https://app.example.com",
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "authorization",
            },
        )
        assert allowed.headers["access-control-allow-origin"] == "https://app.example.com"
        other = client.options(
            "/api/v1/user/profile",
            headers={"Origin": "https://evil.example.com", "Access-Control-Request-Method": "GET"},
        )
        assert "access-control-allow-origin" not in other.headers


def test_an_unauthenticated_profile_request_is_401_with_rate_headers(client: TestClient) -> None:
    reply = client.get("/api/v1/user/profile")
    assert reply.status_code == 401
    assert reply.json()["error"]["code"] == "INVALID_API_KEY"
    assert int(reply.headers["x-ratelimit-limit"]) == 120
    assert int(reply.headers["x-ratelimit-remaining"]) < 120


async def test_anonymous_limits_are_per_ip_and_per_endpoint() -> None:
    limits = RateLimits("async+memory://", "5/minute", "2/hour", "3/minute")
    register = [await limits.check(None, "10.9.9.1", "/api/v1/auth/register") for _ in range(3)]
    assert [d.allowed for d in register if d] == [True, True, False]
    assert register[-1] is not None
    assert register[-1].retry_after >= 1
    other_ip = await limits.check(None, "10.9.9.2", "/api/v1/auth/register")
    assert other_ip is not None
    assert other_ip.allowed
    elsewhere = await limits.check(None, "10.9.9.1", "/api/v1/stats")
    assert elsewhere is not None
    assert (elsewhere.allowed, elsewhere.limit) == (True, 5)
