"""Assets through the whole platform: a scan's hosts become assets, read by id, linked by incidents."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx2 as httpx

from tests.integration.conftest import assert_refused, bearer, register
from tests.integration.scanning import http_server, wait_for


async def scan(api: httpx.Client, key: str, port: int) -> str:
    reply = api.post(
        "/api/v1/scans",
        json={
            "target": "127.0.0.1",
            "ports": f"{port - 1}-{port + 1}",
            "options": {"service_detection": True},
        },
        headers=bearer(key),
    )
    assert reply.status_code == 201, reply.text
    scan_id: str = reply.json()["data"]["scan_id"]
    assert (await asyncio.to_thread(wait_for, api, bearer(key), scan_id))["status"] == "completed"
    return scan_id


async def listed(
    api: httpx.Client, key: str, query: str, done: Any, deadline: float = 20.0
) -> dict[str, Any]:
    """GET /assets?query until ``done(data)``: the consumer applies the events just after the scan ends."""
    loop = asyncio.get_running_loop()
    give_up = loop.time() + deadline
    while True:
        reply = api.get(f"/api/v1/assets?{query}", headers=bearer(key))
        assert reply.status_code == 200, reply.text
        data: dict[str, Any] = reply.json()["data"]
        if done(data) or loop.time() > give_up:
            return data
        await asyncio.sleep(0.2)


async def test_a_scanned_host_is_an_asset_read_by_id_linked_by_an_incident_and_hidden_from_others(
    api: httpx.Client,
) -> None:
    account = register(api)
    key = account["api_key"]
    with http_server() as port:
        scan_id = await scan(api, key, port)
        data = await listed(
            api,
            key,
            f"port={port}",
            lambda d: d["items"] and any(p["service"] for p in d["items"][0]["open_ports"]),
        )
    [asset] = data["items"]
    assert (asset["host"], asset["addresses"], asset["sandbox"]) == ("127.0.0.1", ["127.0.0.1"], False)
    [found] = [p for p in asset["open_ports"] if p["port"] == port]
    assert (found["state"], found["last_scan_id"], found["service"]["name"]) == ("open", scan_id, "http")
    assert [s["scan_id"] for s in asset["scans"]] == [scan_id]

    detail = api.get(f"/api/v1/assets/{asset['asset_id']}", headers=bearer(key))
    assert detail.status_code == 200, detail.text
    history = detail.json()["data"]["history"]
    assert ("opened", port) in [(h["change"], h["port"]) for h in history]
    assert ("service", port) in [(h["change"], h["port"]) for h in history]

    incident = api.post(
        "/api/v1/incidents",
        json={"title": "t", "severity": "low", "affected_systems": [asset["asset_id"]]},
        headers=bearer(key),
    )
    assert incident.status_code == 201, incident.text
    [linked] = incident.json()["data"]["triage"]["linked_assets"]
    assert (linked["asset_id"], linked["host"]) == (asset["asset_id"], "127.0.0.1")

    other = register(api)
    assert_refused(
        api.get(f"/api/v1/assets/{asset['asset_id']}", headers=bearer(other["api_key"])),
        404,
        "ASSET_NOT_FOUND",
    )
    assert api.get("/api/v1/assets", headers=bearer(other["api_key"])).json()["data"]["total"] == 0


async def test_a_test_key_scan_keeps_its_hosts_out_of_the_live_inventory(api: httpx.Client) -> None:
    account = register(api)
    created = api.post(
        "/api/v1/api-keys", json={"name": "sandbox", "mode": "test"}, headers=bearer(account["api_key"])
    )
    assert created.status_code == 201, created.text
    test_key = created.json()["data"]["api_key"]
    await scan(api, test_key, 8080)
    sandbox = await listed(api, test_key, "", lambda d: d["total"] > 0)
    assert sandbox["total"] > 0
    assert all(item["sandbox"] for item in sandbox["items"])
    live = api.get("/api/v1/assets", headers=bearer(account["api_key"])).json()["data"]
    assert live["total"] == 0
    assert_refused(
        api.get(f"/api/v1/assets/{sandbox['items'][0]['asset_id']}", headers=bearer(account["api_key"])),
        404,
        "ASSET_NOT_FOUND",
    )
