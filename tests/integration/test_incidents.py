"""Incidents through the whole platform: triage on scanned hosts, lifecycle, broker event, email, tenancy."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator

import grpc
import httpx2 as httpx
import pytest

from rampart.common.v1 import common_pb2
from rampart.threat.v1 import threat_pb2, threat_pb2_grpc
from tests.integration.conftest import MailInbox, assert_refused, bearer, eventually, register
from tests.integration.scanning import http_server, wait_for
from tests.webhook_receiver import Receiver, receiving

Channels = Callable[[str], grpc.aio.Channel]


async def scanned_host(api: httpx.Client, channel_to: Channels, account: dict[str, str], port: int) -> str:
    """Scan 127.0.0.1 around ``port``; return once threat-service has taken in every event of it."""
    key = account["api_key"]
    reply = api.post(
        "/api/v1/scans", json={"target": "127.0.0.1", "ports": f"{port - 2}-{port + 2}"}, headers=bearer(key)
    )
    assert reply.status_code == 201, reply.text
    scan_id = reply.json()["data"]["scan_id"]
    assert (await asyncio.to_thread(wait_for, api, bearer(key), scan_id))["status"] == "completed"
    stub = threat_pb2_grpc.ThreatServiceStub(channel_to("threat"))
    owner = common_pb2.Owner(org_id=account["org_id"], user_id=account["user_id"])
    await eventually(
        lambda: stub.GetScanActivity(
            threat_pb2.GetScanActivityRequest(owner=owner, scan_id=scan_id), timeout=5
        ),
        lambda activity: "completed" in activity.event_types,
    )
    return scan_id


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as running:
        yield running


async def test_an_incident_is_triaged_on_scanned_hosts_changes_in_its_timeline_and_is_announced(
    api: httpx.Client, channel_to: Channels, mail_inbox: MailInbox, receiver: Receiver
) -> None:
    account = register(api)
    key = account["api_key"]
    with http_server() as port:
        scan_id = await scanned_host(api, channel_to, account, port)
    hook = api.post(
        "/api/v1/webhooks",
        json={"url": receiver.url(), "events": ["incident.created", "incident.updated"]},
        headers=bearer(key),
    )
    assert hook.status_code == 201, hook.text
    body = {
        "title": "Web shell suspected on the intranet server",
        "severity": "critical",
        "description": "EDR flagged a new PHP file",
        "affected_systems": ["127.0.0.1", "192.0.2.10"],
        "related_findings": ["vuln_from_issue_11"],
    }
    created = api.post("/api/v1/incidents", json=body, headers=bearer(key))
    assert created.status_code == 201, created.text
    incident = created.json()["data"]
    incident_id = incident["incident_id"]
    [linked] = incident["triage"]["linked_assets"]
    assert (linked["host"], linked["open_ports"], linked["last_scan_id"]) == ("127.0.0.1", [port], scan_id)
    assert incident["triage"]["unresolved_systems"] == ["192.0.2.10"]
    assert incident["triage"]["priority"] == "P1"
    assert any("127.0.0.1" in step for step in incident["triage"]["next_steps"])
    assert incident["related_findings"] == ["vuln_from_issue_11"]

    for status in ("triaged", "investigating"):
        moved = api.patch(f"/api/v1/incidents/{incident_id}", json={"status": status}, headers=bearer(key))
        assert moved.status_code == 200, moved.text
    raised = api.patch(
        f"/api/v1/incidents/{incident_id}",
        json={"severity": "high", "reason": "no data left the host", "assignee": "usr_oncall"},
        headers=bearer(key),
    )
    assert raised.status_code == 200, raised.text
    commented = api.post(
        f"/api/v1/incidents/{incident_id}/comments", json={"body": "reimaged"}, headers=bearer(key)
    )
    assert commented.status_code == 201

    read = api.get(f"/api/v1/incidents/{incident_id}", headers=bearer(key)).json()["data"]
    timeline = [(e["kind"], e["from_value"], e["to_value"]) for e in read["timeline"]]
    assert timeline[:2] == [("created", "", "open"), ("triaged", "", timeline[1][2])]
    assert timeline[2:] == [
        ("status", "open", "triaged"),
        ("status", "triaged", "investigating"),
        ("severity", "critical", "high"),
        ("assignee", "", "usr_oncall"),
        ("comment", "", read["comments"][0]["comment_id"]),
    ]
    assert read["timeline"][4]["reason"] == "no data left the host"

    listed = api.get("/api/v1/incidents?status=investigating&severity=high", headers=bearer(key)).json()[
        "data"
    ]
    assert [i["incident_id"] for i in listed["items"]] == [incident_id]

    # announced: the organisation's webhook receives the incident's events (report-service)
    announced = await eventually(
        _async(lambda: [json.loads(r.body) for r in receiver.received]), lambda found: len(found) >= 2
    )
    mine = [a for a in announced if a["data"]["incident_id"] == incident_id]
    assert [a["type"] for a in mine][:2] == ["incident.created", "incident.updated"]
    assert "127.0.0.1" in mine[0]["data"]["affected_systems"]

    mails = await eventually(
        _async(lambda: [m for m in mail_inbox.messages if m["X-Rampart-Incident"] == incident_id]),
        lambda found: len(found) >= 1,
    )
    assert mails[0]["Subject"].startswith("[Rampart] New incident: Web shell suspected")


async def test_another_tenant_gets_404_and_an_illegal_transition_gets_409(api: httpx.Client) -> None:
    owner, stranger = register(api), register(api)
    created = api.post(
        "/api/v1/incidents",
        json={"title": "Phishing click", "severity": "low"},
        headers=bearer(owner["api_key"]),
    )
    incident_id = created.json()["data"]["incident_id"]
    for reply in (
        api.get(f"/api/v1/incidents/{incident_id}", headers=bearer(stranger["api_key"])),
        api.patch(
            f"/api/v1/incidents/{incident_id}",
            json={"status": "triaged"},
            headers=bearer(stranger["api_key"]),
        ),
    ):
        assert_refused(reply, 404, "INCIDENT_NOT_FOUND")
    assert api.get("/api/v1/incidents", headers=bearer(stranger["api_key"])).json()["data"]["total"] == 0
    refused = api.patch(
        f"/api/v1/incidents/{incident_id}", json={"status": "closed"}, headers=bearer(owner["api_key"])
    )
    body = assert_refused(refused, 409, "INCIDENT_TRANSITION_NOT_ALLOWED")
    assert body["error"]["details"]["allowed"] == ["triaged"]
    still = api.get(f"/api/v1/incidents/{incident_id}", headers=bearer(owner["api_key"])).json()["data"]
    assert still["status"] == "open"


def _async(probe):  # type: ignore[no-untyped-def]
    async def run():  # type: ignore[no-untyped-def]
        return probe()

    return run
