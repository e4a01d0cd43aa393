"""Gateway behaviour that needs no running services: error mapping and a dead platform."""

from __future__ import annotations

import json

import grpc
from starlette.testclient import TestClient

from rampart.lib.errors import rich_status
from rampart_devtools.ports import free_port
from rampart_gateway.app import create_app
from rampart_gateway.errors import grpc_to_api_error
from rampart_gateway.settings import GatewaySettings


def rpc_error(code: grpc.StatusCode, details: str, trailers: tuple = ()) -> grpc.aio.AioRpcError:
    """A failed call as a service sends it: the public code and details in a rich status."""
    found = dict(trailers)
    if "rampart-error-code" in found:
        extra = json.loads(found.get("rampart-error-details", "{}"))
        status = rich_status(code, found["rampart-error-code"], details, extra)
        trailers = (("grpc-status-details-bin", status.SerializeToString()),)
    return grpc.aio.AioRpcError(code, grpc.aio.Metadata(), grpc.aio.Metadata(*trailers), details)


def test_service_public_code_wins_and_keeps_details() -> None:
    error = grpc_to_api_error(
        rpc_error(
            grpc.StatusCode.INVALID_ARGUMENT,
            "Target hostname is invalid",
            (
                ("rampart-error-code", "INVALID_TARGET"),
                ("rampart-error-details", '{"field": "target", "value": "invalid..host"}'),
            ),
        )
    )
    assert (error.status_code, error.code, error.message) == (
        400,
        "INVALID_TARGET",
        "Target hostname is invalid",
    )
    assert error.details == {"field": "target", "value": "invalid..host"}


def test_bare_statuses_map_to_documented_codes() -> None:
    cases = {
        grpc.StatusCode.NOT_FOUND: (404, "NOT_FOUND"),
        grpc.StatusCode.INVALID_ARGUMENT: (422, "VALIDATION_ERROR"),
        grpc.StatusCode.UNAUTHENTICATED: (401, "INVALID_API_KEY"),
        grpc.StatusCode.PERMISSION_DENIED: (403, "INSUFFICIENT_PERMISSIONS"),
        grpc.StatusCode.RESOURCE_EXHAUSTED: (429, "RATE_LIMIT_EXCEEDED"),
        grpc.StatusCode.UNIMPLEMENTED: (501, "NOT_IMPLEMENTED"),
        grpc.StatusCode.DEADLINE_EXCEEDED: (504, "UPSTREAM_TIMEOUT"),
    }
    for status, expected in cases.items():
        error = grpc_to_api_error(rpc_error(status, "x"))
        assert (error.status_code, error.code) == expected, status


def test_a_busy_service_is_503_service_busy_with_retry_after() -> None:
    error = grpc_to_api_error(
        rpc_error(
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            "authentication is busy; retry shortly",
            (("rampart-error-code", "SERVICE_BUSY"), ("rampart-error-details", '{"retry_after": 2}')),
        )
    )
    assert (error.status_code, error.code) == (503, "SERVICE_BUSY")
    assert error.headers == {"retry-after": "2"}
    assert error.details == {"retry_after": 2}


def test_internal_failures_do_not_leak_service_details() -> None:
    for status in (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN, grpc.StatusCode.UNAVAILABLE):
        error = grpc_to_api_error(rpc_error(status, "connect to mongodb://admin:pw@10.0.0.5 failed"))
        assert "mongodb" not in error.message
        assert error.details == {}
        assert error.status_code in (500, 503)


def test_health_is_503_listing_every_dependency_when_nothing_answers() -> None:
    dead = f"127.0.0.1:{free_port()}"
    settings = GatewaySettings(
        mongodb_url=f"mongodb://{dead}/?serverSelectionTimeoutMS=200",
        nats_url=f"nats://{dead}",
        auth_addr=dead,
        scan_addr=dead,
        threat_addr=dead,
        ai_addr=dead,
        report_addr=dead,
        health_timeout_seconds=0.3,
        health_token="operator-health-token",
    )
    with TestClient(create_app(settings)) as client:
        reply = client.get(
            "/api/v1/health/details",
            headers={"X-Request-ID": "probe-1", "Authorization": "Bearer operator-health-token"},
        )
    body = reply.json()
    assert reply.status_code == 503
    assert reply.headers["x-request-id"] == "probe-1" == body["metadata"]["request_id"]
    assert body["error"]["code"] == "SERVICE_UNAVAILABLE"
    dependencies = body["error"]["details"]["dependencies"]
    assert set(dependencies) == {
        "auth",
        "scan",
        "threat",
        "ai",
        "report",
        "nats",
        "store",
        "scan_workers",
        "feeds",
    }
    assert all(dep["status"] == "down" for dep in dependencies.values())
