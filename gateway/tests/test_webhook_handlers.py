"""Webhook handlers against a stub report-service: bodies, scopes, views, tenancy, error mapping."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from gateway.tests.stubs import StubPlatform
from rampart.lib.catalogue.webhooks import WEBHOOK_EVENTS


@pytest.fixture
def platform() -> StubPlatform:
    return StubPlatform()


@pytest.fixture
def client(platform: StubPlatform) -> Iterator[TestClient]:
    with platform.client() as test_client:
        yield test_client


BODY = {"url": "https://hooks.example.com/in", "events": ["scan.completed", "vulnerability.found"]}


def test_create_sends_the_fields_and_shows_the_generated_secret_once(
    platform: StubPlatform, client: TestClient
) -> None:
    response = client.post("/api/v1/webhooks", json=BODY, headers=platform.token("reports:write"))
    assert response.status_code == 201
    data = response.json()["data"]
    assert (data["webhook_id"], data["secret"], data["enabled"]) == ("whk_0001", "whsec_generated", True)
    sent = platform.report.last("CreateWebhook")
    assert (sent.owner.org_id, list(sent.events), sent.secret) == ("org_1", BODY["events"], "")
    again = client.get("/api/v1/webhooks/whk_0001", headers=platform.token("reports:read"))
    assert "secret" not in again.json()["data"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "https://hooks.example.com/in", "events": []}, "events"),
        ({"url": "https://hooks.example.com/in", "events": ["scan.exploded"]}, "events.0"),
        ({"events": ["scan.completed"]}, "url"),
        ({**BODY, "colour": "red"}, "colour"),
    ],
)
def test_a_bad_body_is_422_naming_the_field_and_never_reaches_the_service(
    platform: StubPlatform, client: TestClient, body: dict[str, object], field: str
) -> None:
    response = client.post("/api/v1/webhooks", json=body, headers=platform.token("reports:write"))
    assert response.status_code == 422
    assert response.json()["error"]["details"]["field"] == field
    assert platform.calls() == 0


def test_a_secret_in_a_refused_body_is_not_echoed(platform: StubPlatform, client: TestClient) -> None:
    body = {**BODY, "secret": "x" * 300}
    response = client.post("/api/v1/webhooks", json=body, headers=platform.token("reports:write"))
    assert response.status_code == 422
    assert "x" * 64 not in response.text


def test_a_refused_url_is_422_webhook_url_not_allowed(platform: StubPlatform, client: TestClient) -> None:
    body = {**BODY, "url": "https://10.0.0.1/in"}
    response = client.post("/api/v1/webhooks", json=body, headers=platform.token("reports:write"))
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "WEBHOOK_URL_NOT_ALLOWED"


def test_reading_needs_reports_read_and_writing_reports_write(
    platform: StubPlatform, client: TestClient
) -> None:
    assert (
        client.post("/api/v1/webhooks", json=BODY, headers=platform.token("reports:read")).status_code == 403
    )
    assert client.get("/api/v1/webhooks", headers=platform.token("scans:read")).status_code == 403
    assert (
        client.post("/api/v1/webhooks/whk_1/test", headers=platform.token("reports:read")).status_code == 403
    )
    assert platform.calls() == 0


def test_another_organisations_webhook_is_404_on_every_operation(
    platform: StubPlatform, client: TestClient
) -> None:
    client.post("/api/v1/webhooks", json=BODY, headers=platform.token())
    other = platform.token(org="org_2")
    path = "/api/v1/webhooks/whk_0001"
    answers = [
        client.get(path, headers=other),
        client.patch(path, json={"enabled": False}, headers=other),
        client.post(f"{path}/rotate-secret", json={}, headers=other),
        client.post(f"{path}/test", headers=other),
        client.get(f"{path}/deliveries", headers=other),
        client.post(f"{path}/deliveries/dlv_1/redeliver", headers=other),
        client.delete(path, headers=other),
    ]
    assert [(a.status_code, a.json()["error"]["code"]) for a in answers] == [(404, "WEBHOOK_NOT_FOUND")] * 7
    assert client.get("/api/v1/webhooks", headers=other).json()["data"]["items"] == []
    assert client.get(path, headers=platform.token()).status_code == 200


def test_patch_sends_only_the_fields_given(platform: StubPlatform, client: TestClient) -> None:
    client.post("/api/v1/webhooks", json=BODY, headers=platform.token())
    response = client.patch("/api/v1/webhooks/whk_0001", json={"enabled": False}, headers=platform.token())
    assert response.json()["data"]["enabled"] is False
    sent = platform.report.last("UpdateWebhook")
    assert (sent.HasField("enabled"), sent.HasField("url"), sent.replace_events) == (True, False, False)
    assert client.patch("/api/v1/webhooks/whk_0001", json={}, headers=platform.token()).status_code == 422


def test_rotate_test_deliveries_and_redeliver(platform: StubPlatform, client: TestClient) -> None:
    client.post("/api/v1/webhooks", json=BODY, headers=platform.token())
    rotated = client.post(
        "/api/v1/webhooks/whk_0001/rotate-secret", json={"grace_seconds": 600}, headers=platform.token()
    ).json()["data"]
    assert rotated["secret"] == "whsec_rotated"
    assert rotated["previous_secret_expires_at"] == "2033-05-18T03:33:20Z"
    assert platform.report.last("RotateWebhookSecret").grace_seconds == 600
    ping = client.post("/api/v1/webhooks/whk_0001/test", headers=platform.token())
    assert ping.status_code == 202
    assert ping.json()["data"]["event"] == "webhook.test"
    log = client.get("/api/v1/webhooks/whk_0001/deliveries?per_page=5", headers=platform.token()).json()[
        "data"
    ]
    assert [d["delivery_id"] for d in log["items"]] == [ping.json()["data"]["delivery_id"]]
    assert log["next_cursor"] == "20"
    assert platform.report.last("ListWebhookDeliveries").page_size == 5
    missing = client.post("/api/v1/webhooks/whk_0001/deliveries/dlv_nope/redeliver", headers=platform.token())
    assert missing.json()["error"]["code"] == "WEBHOOK_DELIVERY_NOT_FOUND"
    deleted = client.delete("/api/v1/webhooks/whk_0001", headers=platform.token())
    assert deleted.json()["data"] == {"webhook_id": "whk_0001", "deleted": True}


def test_a_switched_off_webhook_shows_why_and_when_and_every_catalogue_event_is_accepted(
    platform: StubPlatform, client: TestClient
) -> None:
    everything = {"url": "https://hooks.example.com/in", "events": list(WEBHOOK_EVENTS)}
    assert client.post("/api/v1/webhooks", json=everything, headers=platform.token()).status_code == 201
    shown = client.get("/api/v1/webhooks/whk_0001", headers=platform.token()).json()["data"]
    assert (shown["disabled_reason"], shown["disabled_at"]) == (None, None)
    stored = platform.report.webhooks["whk_0001"]
    stored.active = False
    stored.disabled_reason = "every delivery attempt failed for 24.0 h (18 attempts)"
    stored.disabled_at.FromSeconds(2_000_000_000)
    shown = client.get("/api/v1/webhooks/whk_0001", headers=platform.token()).json()["data"]
    assert shown["enabled"] is False
    assert shown["disabled_reason"] == "every delivery attempt failed for 24.0 h (18 attempts)"
    assert shown["disabled_at"] == "2033-05-18T03:33:20Z"
