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
