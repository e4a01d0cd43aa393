"""Schedules through the gateway and scan-service: create, list, patch, delete, tenancy and worlds.

Firing is pinned down with an injected clock in scan-service/tests/test_schedules.py (an interval
is at least a minute); bench/schedule_bench.py shows 1,000 schedules firing on the real platform.
"""

from __future__ import annotations

import httpx2 as httpx

from tests.integration.conftest import assert_refused, bearer, register


def test_a_schedule_is_kept_changed_and_deleted_by_its_organisation_only(api: httpx.Client) -> None:
    owner, stranger = register(api), register(api)
    key = owner["api_key"]
    body = {"targets": ["127.0.0.1"], "ports": "22,80", "cron": "0 3 * * 1-5", "time_zone": "Europe/Paris"}
    created = api.post("/api/v1/schedules", json=body, headers=bearer(key))
    assert created.status_code == 201, created.text
    schedule = created.json()["data"]
    path = f"/api/v1/schedules/{schedule['schedule_id']}"
    assert (schedule["cron"], schedule["time_zone"], schedule["enabled"]) == (
        "0 3 * * 1-5",
        "Europe/Paris",
        True,
    )
    assert schedule["next_run_at"] is not None  # 03:00 Paris time on the next weekday
    assert schedule["next_run_at"][11:16] in ("01:00", "02:00")  # 03:00 CET / CEST in UTC

    paused = api.patch(path, json={"enabled": False}, headers=bearer(key)).json()["data"]
    assert (paused["enabled"], paused["next_run_at"], paused["cron"]) == (False, None, "0 3 * * 1-5")
    every_hour = api.patch(path, json={"interval_seconds": 3600, "enabled": True}, headers=bearer(key))
    assert every_hour.json()["data"]["cron"] is None
    assert every_hour.json()["data"]["interval_seconds"] == 3600

    listed = api.get("/api/v1/schedules", headers=bearer(key)).json()["data"]
    assert [s["schedule_id"] for s in listed["items"]] == [schedule["schedule_id"]]
    assert api.get("/api/v1/schedules", headers=bearer(stranger["api_key"])).json()["data"]["total"] == 0
    for method in ("GET", "PATCH", "DELETE"):
        reply = api.request(
            method,
            path,
            json={"enabled": True} if method == "PATCH" else None,
            headers=bearer(stranger["api_key"]),
        )
        assert_refused(reply, 404, "SCHEDULE_NOT_FOUND")
    test_key = api.post("/api/v1/api-keys", json={"mode": "test"}, headers=bearer(key)).json()["data"][
        "api_key"
    ]
    assert_refused(api.get(path, headers=bearer(test_key)), 404, "SCHEDULE_NOT_FOUND")  # the other world

    bad = api.post("/api/v1/schedules", json={**body, "cron": "61 * * * *"}, headers=bearer(key))
    assert (bad.status_code, bad.json()["error"]["details"]["field"]) == (422, "cron")
    assert api.delete(path, headers=bearer(key)).status_code == 200
    assert_refused(api.get(path, headers=bearer(key)), 404, "SCHEDULE_NOT_FOUND")
