"""Schedule routes against a stub scan-service: bodies, the plan passed on, partial updates, scopes,
tenancy."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from gateway.tests.stubs import StubPlatform
from rampart.scan.v1 import scan_pb2


@pytest.fixture
def platform() -> StubPlatform:
    return StubPlatform()


@pytest.fixture
def client(platform: StubPlatform) -> Iterator[TestClient]:
    with platform.client() as test_client:
        yield test_client


NIGHTLY = {"targets": ["127.0.0.1"], "ports": "top-100", "cron": "0 3 * * *", "time_zone": "Europe/Paris"}


def test_create_sends_the_spec_and_the_callers_plan(platform: StubPlatform, client: TestClient) -> None:
    reply = client.post("/api/v1/schedules", json=NIGHTLY, headers=platform.token("scans:write"))
    assert reply.status_code == 201, reply.text
    data = reply.json()["data"]
    assert (data["cron"], data["interval_seconds"], data["time_zone"], data["enabled"]) == (
        "0 3 * * *",
        None,
        "Europe/Paris",
        True,
    )
    asked = platform.scan.last("CreateSchedule")
    assert list(asked.spec.targets) == ["127.0.0.1"]
    assert asked.spec.scan_type == scan_pb2.SCAN_TYPE_TCP
    assert asked.concurrent_limit > 0  # the caller's plan travels with the schedule


@pytest.mark.parametrize(
    "body",
    [
        {"targets": ["127.0.0.1"]},  # no timing
        {"targets": ["127.0.0.1"], "cron": "* * * * *", "interval_seconds": 60},
        {"targets": ["127.0.0.1"], "interval_seconds": 5},
        {"targets": [], "cron": "0 3 * * *"},
        {"targets": ["127.0.0.1"], "cron": "0 3 * * *", "colour": "red"},
    ],
)
def test_a_bad_body_is_422_before_scan_service_is_asked(
    platform: StubPlatform, client: TestClient, body: dict[str, object]
) -> None:
    reply = client.post("/api/v1/schedules", json=body, headers=platform.token("scans:write"))
    assert reply.status_code == 422
    assert "CreateSchedule" not in platform.scan.requests


def test_patch_sends_only_the_fields_given(platform: StubPlatform, client: TestClient) -> None:
    headers = platform.token("scans:write", "scans:read")
    created = client.post("/api/v1/schedules", json=NIGHTLY, headers=headers).json()["data"]
    path = f"/api/v1/schedules/{created['schedule_id']}"
    reply = client.patch(path, json={"enabled": False}, headers=headers)
    assert reply.status_code == 200, reply.text
    assert list(platform.scan.last("UpdateSchedule").update_paths) == ["enabled"]
    assert reply.json()["data"]["enabled"] is False
    assert client.get(path, headers=headers).json()["data"]["cron"] == "0 3 * * *"
    listed = client.get("/api/v1/schedules", headers=headers).json()["data"]
    assert [s["schedule_id"] for s in listed["items"]] == [created["schedule_id"]]
    assert client.delete(path, headers=headers).status_code == 200
    gone = client.get(path, headers=headers)
    assert (gone.status_code, gone.json()["error"]["code"]) == (404, "SCHEDULE_NOT_FOUND")


def test_writing_needs_the_write_scope(platform: StubPlatform, client: TestClient) -> None:
    reply = client.post("/api/v1/schedules", json=NIGHTLY, headers=platform.token("scans:read"))
    assert reply.status_code == 403
    assert "CreateSchedule" not in platform.scan.requests
