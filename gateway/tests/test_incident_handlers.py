"""Incident handlers against a stub threat-service: bodies, scopes, queries, views, error mapping."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from gateway.tests.stubs import StubPlatform
from rampart.common.v1 import common_pb2
from rampart.threat.v1 import threat_pb2


@pytest.fixture
def platform() -> StubPlatform:
    return StubPlatform()


@pytest.fixture
def client(platform: StubPlatform) -> Iterator[TestClient]:
    with platform.client() as test_client:
        yield test_client


BODY = {"title": "Beacon", "severity": "high", "affected_systems": ["10.0.0.5", "asset_abc"]}


def test_create_sends_the_fields_and_answers_201_with_the_incident(
    platform: StubPlatform, client: TestClient
) -> None:
    response = client.post("/api/v1/incidents", json=BODY, headers=platform.token("threats:write"))
    assert response.status_code == 201
    data = response.json()["data"]
    assert (data["incident_id"], data["status"], data["severity"]) == ("inc_0001", "open", "high")
    assert data["triage"]["priority"] == "P2"
    sent = platform.threat.last("CreateIncident")
    assert sent.severity == common_pb2.SEVERITY_HIGH
    assert list(sent.affected_systems) == BODY["affected_systems"]
    assert sent.owner.org_id == "org_1"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": "x", "severity": "urgent"}, "severity"),
        ({"title": "", "severity": "low"}, "title"),
        ({"title": "x", "severity": "low", "affected_systems": [""]}, "affected_systems.0"),
        ({"title": "x", "severity": "low", "colour": "red"}, "colour"),
    ],
)
def test_create_refuses_a_bad_body_with_422_naming_the_field(
    platform: StubPlatform, client: TestClient, body: dict[str, object], field: str
) -> None:
    response = client.post("/api/v1/incidents", json=body, headers=platform.token("threats:write"))
    assert response.status_code == 422
    assert response.json()["error"]["details"]["field"] == field
    assert "CreateIncident" not in platform.threat.requests


def test_reading_needs_threats_read_and_writing_threats_write(
    platform: StubPlatform, client: TestClient
) -> None:
    assert (
        client.post("/api/v1/incidents", json=BODY, headers=platform.token("threats:read")).status_code == 403
    )
    assert client.get("/api/v1/incidents", headers=platform.token("scans:read")).status_code == 403
    assert platform.calls() == 0


def test_another_tenants_incident_is_404_and_an_illegal_transition_409(
    platform: StubPlatform, client: TestClient
) -> None:
    client.post("/api/v1/incidents", json=BODY, headers=platform.token("threats:write"))
    other = platform.token(org="org_2")
    missing = client.get("/api/v1/incidents/inc_0001", headers=other)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "INCIDENT_NOT_FOUND"
    refused = client.patch("/api/v1/incidents/inc_0001", json={"status": "closed"}, headers=platform.token())
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "INCIDENT_TRANSITION_NOT_ALLOWED"
    assert refused.json()["error"]["details"]["allowed"] == ["triaged"]


def test_patch_sends_only_what_is_given_and_an_empty_patch_is_422(
    platform: StubPlatform, client: TestClient
) -> None:
    client.post("/api/v1/incidents", json=BODY, headers=platform.token())
    changed = client.patch(
        "/api/v1/incidents/inc_0001", json={"status": "triaged", "assignee": ""}, headers=platform.token()
    )
    assert changed.status_code == 200
    assert changed.json()["data"]["status"] == "triaged"
    sent = platform.threat.last("UpdateIncident")
    assert sent.HasField("assignee")
    assert sent.assignee == ""
    assert sent.severity == common_pb2.SEVERITY_UNSPECIFIED
    assert client.patch("/api/v1/incidents/inc_0001", json={}, headers=platform.token()).status_code == 422


def test_a_comment_is_added(platform: StubPlatform, client: TestClient) -> None:
    client.post("/api/v1/incidents", json=BODY, headers=platform.token())
    response = client.post(
        "/api/v1/incidents/inc_0001/comments", json={"body": "on it"}, headers=platform.token()
    )
    assert response.status_code == 201
    assert [c["body"] for c in response.json()["data"]["comments"]] == ["on it"]


def test_the_listing_passes_filters_sort_and_cursor_and_returns_the_next_cursor(
    platform: StubPlatform, client: TestClient
) -> None:
    client.post("/api/v1/incidents", json=BODY, headers=platform.token())
    platform.threat.next_page_token = "eyJrIjogNX0"
    response = client.get(
        "/api/v1/incidents?status=open&severity=critical&sort=severity&order=asc&per_page=5"
        "&created_after=2026-01-01T00:00:00Z&cursor=abc",
        headers=platform.token("threats:read"),
    )
    assert response.status_code == 200
    data = response.json()["data"]
    assert (data["total"], data["per_page"], data["next_cursor"]) == (1, 5, "eyJrIjogNX0")
    sent = platform.threat.last("ListIncidents")
    assert sent.status == threat_pb2.INCIDENT_STATUS_OPEN
    assert sent.severity == common_pb2.SEVERITY_CRITICAL
    assert sent.sort == threat_pb2.INCIDENT_SORT_SEVERITY
    assert sent.ascending
    assert sent.page_size == 5
    assert sent.page_token == "abc"
    assert sent.created.after.seconds > 0
