"""Webhooks across the platform: a scan's events reach a local receiver, signed, through a
kill -9 of report-service and a broker restart, without a delivery lost or doubled."""

from __future__ import annotations

import hashlib
import hmac
import json
import signal
import time

import httpx2 as httpx

from rampart_devtools.devstack import DevStack
from tests.integration.conftest import bearer, register
from tests.webhook_receiver import Receiver, Reply, receiving


def verify(payload: bytes, signature: str, secret: str) -> bool:
    """The seed's example (../shared/seeds/004_26491b27e95effe3.txt), unchanged."""
    expected = hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


def wait_for(check, deadline: float = 60.0):  # type: ignore[no-untyped-def]
    give_up = time.monotonic() + deadline
    while time.monotonic() < give_up:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"not reached in {deadline}s")


def completed(receiver: Receiver, scan_id: str) -> list[dict[str, object]]:
    bodies = [json.loads(r.body) for r in receiver.received]
    return [b for b in bodies if b["type"] == "scan.completed" and b["data"]["scan_id"] == scan_id]  # type: ignore[index]


def start_scan(api: httpx.Client, key: str) -> str:
    reply = api.post("/api/v1/scans", json={"target": "127.0.0.1", "ports": "1-20"}, headers=bearer(key))
    assert reply.status_code in (201, 202), reply.text
    return str(reply.json()["data"]["scan_id"])


def test_a_completed_scan_reaches_the_receiver_signed_and_the_log_shows_it(api: httpx.Client) -> None:
    key = register(api)["api_key"]
    with receiving() as receiver:
        created = api.post(
            "/api/v1/webhooks",
            json={"url": receiver.url(), "events": ["scan.completed"]},
            headers=bearer(key),
        )
        assert created.status_code == 201, created.text
        hook = created.json()["data"]
        scan_id = start_scan(api, key)
        wait_for(lambda: completed(receiver, scan_id))
    (got,) = [r for r in receiver.received if json.loads(r.body)["data"].get("scan_id") == scan_id]
    assert verify(got.body, got.headers["X-Rampart-Signature"], hook["secret"])
    log = api.get(f"/api/v1/webhooks/{hook['webhook_id']}/deliveries", headers=bearer(key)).json()["data"]
    (entry,) = log["items"]
    assert (entry["status"], entry["response_code"], entry["event"]) == ("delivered", 200, "scan.completed")
    assert entry["delivery_id"] == got.headers["X-Rampart-Delivery"]
    stranger = register(api)["api_key"]
    refused = api.get(f"/api/v1/webhooks/{hook['webhook_id']}", headers=bearer(stranger))
    assert refused.status_code == 404


def test_kill_9_of_report_service_and_a_broker_restart_lose_and_double_nothing(
    healthy: DevStack, api: httpx.Client
) -> None:
    key = register(api)["api_key"]
    receiver = Receiver().then(Reply(503, b"busy"))  # the first attempt fails: a retry is pending
    with receiving(receiver):
        hook = api.post(
            "/api/v1/webhooks",
            json={"url": receiver.url(), "events": ["scan.completed"]},
            headers=bearer(key),
        ).json()["data"]
        healthy.stop("report", sig=signal.SIGKILL)
        scan_id = start_scan(api, key)  # its events wait in the stream for report-service
        healthy.stop("nats")
        healthy.start("nats")
        healthy.start("report")
        wait_for(lambda: len(completed(receiver, scan_id)) >= 2)

        def logged() -> list[dict[str, object]]:
            page = api.get(f"/api/v1/webhooks/{hook['webhook_id']}/deliveries", headers=bearer(key))
            return [d for d in page.json()["data"]["items"] if d["status"] == "delivered"]

        (entry,) = wait_for(logged)
    attempts = [r for r in receiver.received if json.loads(r.body)["data"].get("scan_id") == scan_id]
    assert len(attempts) == 2  # the 503, then the 200: one delivery, retried once
    assert len({r.headers["X-Rampart-Delivery"] for r in attempts}) == 1
    assert all(verify(r.body, r.headers["X-Rampart-Signature"], hook["secret"]) for r in attempts)
    assert (entry["attempts"], [a["status_code"] for a in entry["history"]]) == (2, [503, 200])


def test_a_scan_changes_the_posture_in_the_background_and_compliance_changed_reaches_the_receiver(
    api: httpx.Client,
) -> None:
    """No compliance read after the baseline: the scan's settlement recomputes the posture, the
    change goes through COMPLIANCE_EVENTS to the webhook durable, and the receiver gets it signed."""
    account = register(api)
    key = account["api_key"]
    with receiving() as receiver:
        created = api.post(
            "/api/v1/webhooks",
            json={"url": receiver.url(), "events": ["compliance.changed", "scan.started"]},
            headers=bearer(key),
        )
        assert created.status_code == 201, created.text
        hook = created.json()["data"]
        assert api.get("/api/v1/compliance", headers=bearer(key)).status_code == 200  # the baseline
        scan_id = start_scan(api, key)

        def changes() -> list[dict[str, object]]:
            bodies = [json.loads(r.body) for r in receiver.received]
            return [b for b in bodies if b["type"] == "compliance.changed"]

        found = wait_for(changes)
        wait_for(lambda: [r for r in receiver.received if json.loads(r.body)["type"] == "scan.started"])
    first = found[0]
    assert first["organisation"] == account["org_id"]
    assert first["data"]["from"] == "not_assessed"  # the baseline had no asset; the scan brought one
    assert str(first["data"]["control_id"]).count(":") == 1
    started = [json.loads(r.body) for r in receiver.received if json.loads(r.body)["type"] == "scan.started"]
    assert started[0]["data"]["scan_id"] == scan_id
    for got in receiver.received:
        assert verify(got.body, got.headers["X-Rampart-Signature"], hook["secret"])
