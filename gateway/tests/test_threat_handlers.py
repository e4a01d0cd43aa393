"""Threat-analysis handlers against a stub threat-service: request mapping, views, errors."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest
from starlette.testclient import TestClient

from gateway.tests.stubs import StubPlatform, rpc_error
from rampart.threat.v1 import threat_pb2


@pytest.fixture
def platform() -> StubPlatform:
    return StubPlatform()


@pytest.fixture
def client(platform: StubPlatform) -> Iterator[TestClient]:
    with platform.client() as test_client:
        yield test_client


def test_analyze_sends_the_type_mode_and_tags_and_answers_the_analysis(
    platform: StubPlatform, client: TestClient
) -> None:
    body = {"target": "Example.COM", "type": "domain", "mode": "deep", "metadata": {"ticket": "T-1"}}
    reply = client.post("/api/v1/threats/analyze", json=body, headers=platform.token("threats:write"))
    assert reply.status_code == 201
    sent = platform.threat.last("AnalyzeThreat")
    assert (sent.kind, sent.mode, dict(sent.metadata)) == (
        threat_pb2.INDICATOR_KIND_DOMAIN,
        threat_pb2.ANALYSIS_MODE_DEEP,
        {"ticket": "T-1"},
    )
    data = reply.json()["data"]
    assert data["classification"] == "suspicious"
    assert data["reasons"] == [{"signal": "brand_embedded", "weight": 45, "evidence": "e", "attack": ["T1"]}]
    assert (data["type"], data["mode"], data["normalized"], data["duration_ms"]) == (
        "domain",
        "deep",
        "example.com",
        1.5,
    )


def test_an_unknown_type_or_mode_is_422_before_any_call(platform: StubPlatform, client: TestClient) -> None:
    headers = platform.token("threats:write")
    for body in ({"target": "x", "type": "email"}, {"target": "x", "mode": "detonate"}, {"target": ""}):
        reply = client.post("/api/v1/threats/analyze", json=body, headers=headers)
        assert reply.status_code == 422, body
    assert "AnalyzeThreat" not in platform.threat.requests


def test_a_malformed_indicator_is_400_invalid_indicator(platform: StubPlatform, client: TestClient) -> None:
    platform.threat.fail(
        "AnalyzeThreat",
        rpc_error(grpc.StatusCode.INVALID_ARGUMENT, "not an IPv4 or IPv6 address", "INVALID_INDICATOR"),
    )
    reply = client.post(
        "/api/v1/threats/analyze", json={"target": "999.1.1.1"}, headers=platform.token("threats:write")
    )
    assert reply.status_code == 400
    assert reply.json()["error"]["code"] == "INVALID_INDICATOR"


def test_another_organisations_analysis_is_404(platform: StubPlatform, client: TestClient) -> None:
    mine = client.post(
        "/api/v1/threats/analyze",
        json={"target": "a.example"},
        headers=platform.token("threats:write", org="org_a"),
    ).json()["data"]["analysis_id"]
    other = platform.token("threats:read", org="org_b")
    assert client.get(f"/api/v1/threats/analyses/{mine}", headers=other).status_code == 404
    assert client.get("/api/v1/threats/analyses", headers=other).json()["data"]["items"] == []
    own = client.get("/api/v1/threats/analyses", headers=platform.token("threats:read", org="org_a"))
    assert [a["analysis_id"] for a in own.json()["data"]["items"]] == [mine]


def test_reading_analyses_needs_threats_read(platform: StubPlatform, client: TestClient) -> None:
    reply = client.get("/api/v1/threats/analyses", headers=platform.token("threats:write"))
    assert reply.status_code == 403


def test_a_list_entry_is_added_listed_for_its_organisation_only_and_removed(
    platform: StubPlatform, client: TestClient
) -> None:
    write, read = platform.token("threats:write"), platform.token("threats:read")
    body = {"list": "deny", "value": "Evil.example", "note": "phishing kit"}
    added = client.post("/api/v1/threats/lists", json=body, headers=write)
    assert added.status_code == 201
    sent = platform.threat.last("AddIndicatorListEntry")
    assert (sent.owner.org_id, sent.list, sent.value, sent.note) == (
        "org_1",
        "deny",
        "Evil.example",
        "phishing kit",
    )
    entry = added.json()["data"]
    assert (entry["list"], entry["kind"], entry["value"]) == ("deny", "domain", "evil.example")
    listed = client.get("/api/v1/threats/lists?list=deny", headers=read).json()["data"]["items"]
    assert [e["entry_id"] for e in listed] == [entry["entry_id"]]
    assert client.get("/api/v1/threats/lists?list=allow", headers=read).json()["data"]["items"] == []
    other = platform.token("threats:read", "threats:write", org="org_2")
    assert client.get("/api/v1/threats/lists", headers=other).json()["data"]["items"] == []
    refused = client.delete(f"/api/v1/threats/lists/{entry['entry_id']}", headers=other)
    assert (refused.status_code, refused.json()["error"]["code"]) == (404, "NOT_FOUND")
    removed = client.delete(f"/api/v1/threats/lists/{entry['entry_id']}", headers=write)
    assert removed.status_code == 200
    assert client.get("/api/v1/threats/lists", headers=read).json()["data"]["items"] == []


def test_a_bad_list_entry_is_422(platform: StubPlatform, client: TestClient) -> None:
    write = platform.token("threats:write")
    wrong_list = client.post(
        "/api/v1/threats/lists", json={"list": "maybe", "value": "a.example"}, headers=write
    )
    assert (wrong_list.status_code, wrong_list.json()["error"]["details"]["field"]) == (422, "list")
    assert "AddIndicatorListEntry" not in platform.threat.requests  # refused before threat-service
    bad_value = client.post(
        "/api/v1/threats/lists", json={"list": "deny", "value": "not a domain"}, headers=write
    )
    assert (bad_value.status_code, bad_value.json()["error"]["code"]) == (422, "VALIDATION_ERROR")
