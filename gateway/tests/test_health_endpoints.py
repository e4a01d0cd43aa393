"""Health: public status only, operator-only details with fixed reasons, one cached fan-out."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import grpc
from grpc_health.v1 import health_pb2
from pydantic import SecretStr
from starlette.testclient import TestClient

from gateway.tests.stub_incidents import StubThreat
from gateway.tests.stub_services import rpc_error
from rampart.lib.ids import to_timestamp, utcnow
from rampart.threat.v1 import threat_pb2
from rampart_devtools.ports import free_port
from rampart_gateway.api.system.health import HealthChecks, check_all, reason
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
    assert dependencies["feeds"] == {"status": "down", "error": "unreachable"}  # threat-service down
    assert "feeds down" in details.json()["error"]["message"]
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


def fake_state(stub: CountingStub, threat: StubThreat | None = None) -> Any:
    async def broker_check(*args: Any) -> None:
        return None

    broker = SimpleNamespace(check=broker_check, live_workers=lambda: [(0, 4)])
    return SimpleNamespace(
        settings=SimpleNamespace(health_timeout_seconds=1.0),
        clients=SimpleNamespace(health={"auth": stub}, threat=threat or fresh_threat()),
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


class FeedThreat(StubThreat):
    """GetFeedStatus answering NVD (fresh or stale, with data) and an empty, stale KEV."""

    def __init__(self, nvd_stale: bool) -> None:
        super().__init__()
        self.nvd_stale = nvd_stale

    def GetFeedStatus(self, request: threat_pb2.GetFeedStatusRequest, timeout: float) -> Any:
        def status() -> threat_pb2.FeedStatus:
            reply = threat_pb2.FeedStatus(stale_after_days=8.0)
            reply.sources.add(
                kind=threat_pb2.FEED_KIND_NVD,
                snapshot=to_timestamp(utcnow()),
                records=1200,
                last_import_id="imp_nvd",
                stale=self.nvd_stale,
            )
            reply.sources.add(kind=threat_pb2.FEED_KIND_KEV, records=0, stale=True)  # no data: not counted
            # The shipped starter set ages by design: it never degrades the report.
            reply.sources.add(kind=threat_pb2.FEED_KIND_STARTER, records=22, stale=True)
            return reply

        return self._call("GetFeedStatus", request, status)


def fresh_threat() -> StubThreat:
    return FeedThreat(nvd_stale=False)


async def test_a_stale_feed_with_data_shows_in_the_details_and_degrades_them() -> None:
    report = await asyncio.wait_for(check_all(fake_state(CountingStub(), FeedThreat(nvd_stale=True))), 5)
    feeds = report["dependencies"]["feeds"]
    assert (feeds["status"], feeds["stale"], feeds["stale_after_days"]) == ("stale", ["nvd"], 8.0)
    nvd, kev, _starter = feeds["sources"]
    assert (nvd["source"], nvd["records"], nvd["stale"]) == ("nvd", 1200, True)
    assert nvd["snapshot"] is not None
    assert (kev["source"], kev["records"], kev["stale"]) == ("kev", 0, True)
    assert (report["status"], report["public_status"]) == ("degraded", "healthy")


async def test_fresh_feeds_leave_the_platform_healthy() -> None:
    report = await asyncio.wait_for(check_all(fake_state(CountingStub(), FeedThreat(nvd_stale=False))), 5)
    feeds = report["dependencies"]["feeds"]
    assert (feeds["status"], feeds["stale"]) == ("up", [])
    assert [s["source"] for s in feeds["sources"]] == ["nvd", "kev", "starter"]
    assert report["status"] == "healthy"  # the stale starter set does not count


async def test_threat_down_makes_the_feeds_entry_unreachable_with_no_exception_text() -> None:
    threat = FeedThreat(nvd_stale=True)
    threat.fail("GetFeedStatus", rpc_error(grpc.StatusCode.UNAVAILABLE, "connect to 10.0.0.7:50053 refused"))
    report = await asyncio.wait_for(check_all(fake_state(CountingStub(), threat)), 5)
    assert report["dependencies"]["feeds"] == {"status": "down", "error": "unreachable"}
    assert report["status"] == "degraded"
    assert "10.0.0.7" not in str(report)
