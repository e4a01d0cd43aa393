"""Health of the whole platform through the gateway, and how it reports a fault."""

from __future__ import annotations

import json
import time
import urllib.request

import httpx2 as httpx

from rampart.lib.ids import new_id
from rampart_devtools.devstack import WORKERS, DevStack

DEPENDENCIES = {"auth", "scan", "threat", "ai", "report", "nats", "store", "scan_workers", "feeds"}


def get(
    stack: DevStack, path: str, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], dict]:
    request = urllib.request.Request(stack.gateway_url + path, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as reply:
            return reply.status, dict(reply.headers), json.loads(reply.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read())


def test_public_health_says_only_healthy(stack: DevStack) -> None:
    for path in ("/api/v1/health", "/api/health"):
        status, headers, body = get(stack, path)
        assert status == 200
        assert body["success"] is True
        assert body["data"] == {"status": "healthy"}
        assert headers["x-request-id"] == body["metadata"]["request_id"]


def test_health_details_need_the_operator_token(stack: DevStack) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Bearer sk_live_x"}):
        status, _, body = get(stack, "/api/v1/health/details", headers)
        assert status == 401
        assert body["error"]["code"] == "INVALID_API_KEY"
        assert "dependencies" not in json.dumps(body)


def test_health_reports_every_dependency_up_in_the_envelope(stack: DevStack) -> None:
    for path in ("/api/v1/health/details",):
        status, headers, body = get(stack, path, {"Authorization": f"Bearer {stack.health_token()}"})
        assert status == 200
        assert body["success"] is True
        assert body["data"]["status"] == "healthy"
        assert body["data"]["version"] == "0.1.0"
        assert set(body["data"]["dependencies"]) == DEPENDENCIES
        assert all(dep["status"] == "up" for dep in body["data"]["dependencies"].values())
        assert body["data"]["dependencies"]["scan_workers"]["workers"] == 2  # make run's two
        assert headers["x-request-id"] == body["metadata"]["request_id"]
        assert body["metadata"]["timestamp"].endswith("Z")


def test_request_id_is_taken_from_the_caller_or_made(stack: DevStack) -> None:
    _, headers, body = get(stack, "/api/v1/health", {"X-Request-ID": "trace-42.a"})
    assert headers["x-request-id"] == "trace-42.a" == body["metadata"]["request_id"]
    _, headers, body = get(stack, "/api/v1/health", {"X-Request-ID": "bad id\twith spaces"})
    assert headers["x-request-id"].startswith("req_")
    assert body["metadata"]["request_id"] == headers["x-request-id"]


def test_unknown_route_answers_404_in_the_error_envelope(stack: DevStack) -> None:
    status, headers, body = get(stack, "/api/v1/nothing-here")
    assert status == 404
    assert body["success"] is False
    assert body["error"]["code"] == "NOT_FOUND"
    assert body["metadata"]["request_id"] == headers["x-request-id"]
    assert headers["x-content-type-options"] == "nosniff"


def test_stopped_service_is_reported_down_then_healthy_after_restart(healthy: DevStack) -> None:
    assert healthy.stop("threat") == 0, "SIGTERM should drain and exit cleanly"
    assert '"stopped"' in healthy.log_path("threat").read_text()
    body = healthy.wait_health(503, deadline=20)
    assert body["success"] is False
    assert body["error"]["code"] == "SERVICE_UNAVAILABLE"
    assert "threat" in body["error"]["message"]
    dependencies = body["error"]["details"]["dependencies"]
    assert dependencies["threat"]["status"] == "down"
    assert dependencies["threat"]["error"] in {"unreachable", "not serving", "timeout"}  # no raw text
    status, _, public = get(healthy, "/api/v1/health")
    assert (status, public["error"]["details"]) == (503, {"status": "degraded"})
    assert dependencies["feeds"]["status"] == "down"  # the feed status comes from threat-service
    assert dependencies["feeds"]["error"] in {"unreachable", "timeout"}
    assert {name for name, dep in dependencies.items() if dep["status"] == "up"} == (
        DEPENDENCIES - {"threat", "feeds"}
    )
    healthy.start("threat")
    body = healthy.wait_health(200, deadline=30)
    assert body["data"]["dependencies"]["threat"]["status"] == "up"


def test_store_outage_is_reported_and_recovers(healthy: DevStack) -> None:
    healthy.stop("store")
    body = healthy.wait_health(503, deadline=20)
    assert body["error"]["details"]["dependencies"]["store"]["status"] == "down"
    # within their watch interval the services say so too: they do not serve without their store
    deadline = time.monotonic() + 10
    while True:
        _, body = healthy.health()
        dependencies = body["error"]["details"]["dependencies"]
        down = {name for name, dep in dependencies.items() if dep["status"] == "down"}
        if down >= {"store", "auth", "scan", "threat", "report"}:
            break
        assert time.monotonic() < deadline, down
        time.sleep(0.1)
    healthy.start("store")
    healthy.wait_health(200, deadline=30)
    # the first write after the outage works: no stale connection is left to fail it
    with httpx.Client(base_url=healthy.gateway_url, timeout=15) as client:
        reply = client.post(
            "/api/v1/auth/register",
            json={"email": f"{new_id('after')}@example.com", "password": "correct-horse-9-battery"},
        )
    assert reply.status_code == 201, reply.text


def test_health_says_when_no_scan_worker_is_attached(healthy: DevStack) -> None:
    for worker in WORKERS:
        assert healthy.stop(worker) == 0
    body = healthy.wait_health(503, deadline=20)
    workers = body["error"]["details"]["dependencies"]["scan_workers"]
    assert workers["status"] == "down"
    assert "scans would stay queued" in workers["error"]
    healthy.start(WORKERS[0])
    body = healthy.wait_health(200, deadline=20)
    assert body["data"]["dependencies"]["scan_workers"]["workers"] == 1
