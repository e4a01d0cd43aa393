"""Health: public status only, operator-only details with fixed reasons, one cached fan-out."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import grpc
from grpc_health.v1 import health_pb2
from pydantic import SecretStr
from starlette.testclient import TestClient

from rampart_devtools.ports import free_port
from rampart_gateway.api.system.health import HealthChecks, reason
from rampart_gateway.app import create_app
from rampart_gateway.settings import GatewaySettings

TOKEN = "operator-health-token-0123456789"
REASONS = {"unreachable", "timeout", "not serving", "check failed"}


def dead_settings() -> GatewaySettings:
    dead = f"127.0.0.1:{free_port()}"
    return GatewaySettings(
        mongodb_url=f"mongodb://{dead}/?serverSelectionTimeoutMS=200",
        nats_url=f"nats://{dead}",
        auth_addr=dead,
        scan_addr=dead,
        threat_addr=dead,
        ai_addr=dead,
        report_addr=dead,
        health_timeout_seconds=0.3,
        health_token=TOKEN,
    )


def test_public_health_says_only_the_status_and_details_need_the_operator_token() -> None:
    settings = dead_settings()
    with TestClient(create_app(settings)) as client:
        public = [client.get(path) for path in ("/api/v1/health", "/api/health")]
        anonymous = client.get("/api/v1/health/details")
        wrong = client.get("/api/v1/health/details", headers={"Authorization": "Bearer sk_live_guess"})
        details = client.get("/api/v1/health/details", headers={"Authorization": f"Bearer {TOKEN}"})
    for reply in public:
        assert reply.status_code == 503
        error = reply.json()["error"]
        assert (error["code"], error["message"], error["details"]) == (
            "SERVICE_UNAVAILABLE",
            "the platform is unhealthy",
            {"status": "unhealthy"},
        )
    for reply in (anonymous, wrong):
        assert reply.status_code == 401
        assert reply.json()["error"]["code"] == "INVALID_API_KEY"
        assert "dependencies" not in reply.text
    assert details.status_code == 503
    dependencies = details.json()["error"]["details"]["dependencies"]
    assert {dep["error"] for name, dep in dependencies.items() if name != "scan_workers"} <= REASONS
    assert dependencies["scan_workers"]["error"] == "no scan worker heard from: scans would stay queued"
    # no exception text leaves the gateway: no address, port or library message
    assert settings.auth_addr not in details.text
    assert "refused" not in details.text.lower()
    assert "mongodb" not in details.text.lower()


def test_without_a_configured_token_nobody_gets_the_details() -> None:
    settings = dead_settings().model_copy(update={"health_token": SecretStr("")})
    with TestClient(create_app(settings)) as client:
        assert client.get("/api/v1/health/details", headers={"Authorization": "Bearer "}).status_code == 401


def test_failure_reasons_are_fixed_words_never_the_exception_text() -> None:
    secret = "connect to mongodb://admin:pw@10.0.0.5:27017 failed"
    assert reason(ConnectionRefusedError(secret)) == "unreachable"
    assert reason(TimeoutError(secret)) == "timeout"
    assert reason(ValueError(secret)) == "check failed"
    rpc = grpc.aio.AioRpcError(
        grpc.StatusCode.DEADLINE_EXCEEDED, grpc.aio.Metadata(), grpc.aio.Metadata(), secret
    )
    assert reason(rpc) == "timeout"


class CountingStub:
    def __init__(self) -> None:
        self.calls = 0

    async def Check(self, request: Any, timeout: float) -> Any:  # noqa: ASYNC109 - the gRPC signature
        self.calls += 1
        await asyncio.sleep(0.05)
        return health_pb2.HealthCheckResponse(status=health_pb2.HealthCheckResponse.SERVING)


def fake_state(stub: CountingStub) -> Any:
    async def broker_check(*args: Any) -> None:
        return None

    broker = SimpleNamespace(check=broker_check, live_workers=lambda: [(0, 4)])
    return SimpleNamespace(
        settings=SimpleNamespace(health_timeout_seconds=1.0),
        clients=SimpleNamespace(health={"auth": stub}),
        broker=broker,
        mongo=SimpleNamespace(admin=SimpleNamespace(command=broker_check)),
    )


async def test_concurrent_callers_share_one_fan_out_and_its_result_is_kept() -> None:
    stub = CountingStub()
    checks = HealthChecks(ttl=60.0)
    state = fake_state(stub)
    reports = await asyncio.wait_for(asyncio.gather(*(checks.report(state) for _ in range(50))), 5)
    assert stub.calls == 1
    assert all(report is reports[0] for report in reports)
    assert reports[0]["dependencies"]["auth"]["status"] == "up"
    await checks.report(state)
    assert stub.calls == 1  # within the cache interval: no new fan-out
    fresh = HealthChecks(ttl=0.0)
    await asyncio.wait_for(fresh.report(state), 5)
    await asyncio.wait_for(fresh.report(state), 5)
    assert stub.calls == 3  # past the interval every call checks again
