"""Change monitoring end to end: real scans of local ports, report-service's diff after each scan's
findings settle, the organisation's alert preferences, and signed scan.changed deliveries to a
receiver on 127.0.0.1."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

import httpx2 as httpx

from tests.integration.conftest import bearer, register
from tests.integration.scanning import BannerServer, banner_servers, wait_for
from tests.webhook_receiver import Receiver, receiving


def scan(api: httpx.Client, key: str, ports: str) -> str:
    body = {"target": "127.0.0.1", "ports": ports, "options": {"service_detection": False}}
    reply = api.post("/api/v1/scans", json=body, headers=bearer(key))
    assert reply.status_code == 201, reply.text
    scan_id: str = reply.json()["data"]["scan_id"]
    assert wait_for(api, bearer(key), scan_id)["status"] == "completed"
    return scan_id


def eventually(check: Callable[[], list[dict[str, Any]]], deadline: float = 90.0) -> list[dict[str, Any]]:
    give_up = time.monotonic() + deadline
    while time.monotonic() < give_up:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"not reached in {deadline}s")


def changed(receiver: Receiver) -> list[dict[str, Any]]:
    bodies = [json.loads(r.body) for r in receiver.received]
    return [b for b in bodies if b["type"] == "scan.changed"]


def of_scan(receiver: Receiver, scan_id: str) -> list[dict[str, Any]]:
    return [b for b in changed(receiver) if b["data"]["scan_id"] == scan_id]


def test_a_port_opened_between_two_scans_alerts_once_and_not_when_switched_off(api: httpx.Client) -> None:
    account = register(api)
    key = account["api_key"]
    defaults = api.get("/api/v1/alerts/preferences", headers=bearer(key))
    assert defaults.status_code == 200, defaults.text
    rules = defaults.json()["data"]["rules"]
    assert rules["new_open_port"] == {"enabled": True}
    assert rules["port_closed"] == {"enabled": False}
    assert defaults.json()["data"]["updated_at"] is None

    first, second, third = BannerServer(b""), BannerServer(b"", False), BannerServer(b"", False)
    with receiving() as receiver, banner_servers(first, second, third):
        hook = api.post(
            "/api/v1/webhooks", json={"url": receiver.url(), "events": ["scan.changed"]}, headers=bearer(key)
        ).json()["data"]
        ports = f"{first.port},{second.port},{third.port}"
        baseline = scan(api, key, ports)  # the first scan of these targets: nothing to compare with
        second.listen()
        opened = scan(api, key, ports)
        (alert,) = eventually(lambda: of_scan(receiver, opened))
        got = next(r for r in receiver.received if json.loads(r.body)["id"] == alert["id"])
        expected = hmac.new(hook["secret"].encode(), got.body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(expected, got.headers["X-Rampart-Signature"])
        assert got.headers["X-Rampart-Event"] == "scan.changed"
        data = alert["data"]
        assert (data["against_scan_id"], data["alerts"]) == (baseline, ["new_open_port"])
        assert [(p["host"], p["port"]) for p in data["changes"]["new_open_port"]] == [
            ("127.0.0.1", second.port)
        ]
        assert data["counts"]["ports_opened"] == 1

        switched = api.patch(
            "/api/v1/alerts/preferences",
            json={"rules": {"new_open_port": {"enabled": False}, "port_closed": {"enabled": True}}},
            headers=bearer(key),
        )
        assert switched.status_code == 200, switched.text
        assert switched.json()["data"]["rules"]["new_open_port"] == {"enabled": False}
        third.listen()
        quiet = scan(api, key, ports)  # only a port opened: switched off
        first.close()
        closed = scan(api, key, ports)  # a port closed: alerts now
        (later,) = eventually(lambda: of_scan(receiver, closed))

    # The changes of one scan are handled in stream order: when the later scan's alert arrived,
    # the quiet scan's change had been handled, and it queued nothing.
    assert [p["port"] for p in later["data"]["changes"]["port_closed"]] == [first.port]
    assert later["data"]["alerts"] == ["port_closed"]
    assert of_scan(receiver, quiet) == []
    log = api.get(f"/api/v1/webhooks/{hook['webhook_id']}/deliveries", headers=bearer(key)).json()["data"]
    assert sorted(d["event_id"] for d in log["items"]) == sorted([f"chg.{opened}", f"chg.{closed}"])
    assert [b["data"]["scan_id"] for b in changed(receiver)] == [opened, closed]  # once each


def test_a_generated_report_sends_report_completed_to_its_organisation_only(api: httpx.Client) -> None:
    key, stranger = register(api)["api_key"], register(api)["api_key"]
    server = BannerServer(b"")
    with receiving() as receiver, receiving() as other, banner_servers(server):
        hook = api.post(
            "/api/v1/webhooks",
            json={"url": receiver.url(), "events": ["report.completed", "report.failed"]},
            headers=bearer(key),
        ).json()["data"]
        api.post(
            "/api/v1/webhooks",
            json={"url": other.url(), "events": ["report.completed"]},
            headers=bearer(stranger),
        )
        scan_id = scan(api, key, str(server.port))
        reply = api.post(
            "/api/v1/reports",
            json={"type": "technical", "scan_ids": [scan_id], "format": "json"},
            headers=bearer(key),
        )
        assert reply.status_code == 202, reply.text
        report_id = reply.json()["data"]["report_id"]

        def completed() -> list[dict[str, Any]]:
            bodies = [json.loads(r.body) for r in receiver.received]
            return [b for b in bodies if b["type"] == "report.completed"]

        (body,) = eventually(completed)
    report = api.get(f"/api/v1/reports/{report_id}", headers=bearer(key)).json()["data"]
    data = body["data"]
    assert (data["report_id"], data["format"], data["scan_ids"]) == (report_id, "json", [scan_id])
    assert (data["sha256"], data["size_bytes"]) == (report["sha256"], report["size_bytes"])
    assert data["download"] == f"/api/v1/reports/{report_id}/download"
    got = next(r for r in receiver.received if json.loads(r.body)["type"] == "report.completed")
    expected = hmac.new(hook["secret"].encode(), got.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(expected, got.headers["X-Rampart-Signature"])
    assert other.received == []
