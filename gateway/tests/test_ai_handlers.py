"""The assistant's routes against a stub ai-service: bodies, limits, scope, tenancy, SSE or JSON."""

from __future__ import annotations

import json
from collections.abc import Iterator

import grpc
import pytest
from starlette.testclient import TestClient

from gateway.tests.stub_ai import ANSWER
from gateway.tests.stub_services import rpc_error
from gateway.tests.stubs import StubPlatform
from rampart.ai.v1 import ai_pb2


@pytest.fixture
def platform() -> StubPlatform:
    return StubPlatform()


@pytest.fixture
def client(platform: StubPlatform) -> Iterator[TestClient]:
    with platform.client() as test_client:
        yield test_client


ASK = {"question": "What does an open SSH port on 22 mean for security?", "context": {"scan_id": "scan_1"}}


def test_ask_sends_the_question_with_the_callers_owner_and_returns_structured_citations(
    platform: StubPlatform, client: TestClient
) -> None:
    response = client.post("/api/v1/ai/ask", json=ASK, headers=platform.token("ai:use"))
    assert response.status_code == 200
    data = response.json()["data"]
    assert (data["answer"], data["intent"], data["provider"]) == (ANSWER, "exposure", "offline")
    assert data["citations"][1] == {
        "label": "2",
        "kind": "port",
        "ref": "10.0.0.7:6379",
        "excerpt": "6379/tcp open redis",
        "scan_id": "scan_1",
        "host": "10.0.0.7",
        "port": 6379,
        "protocol": "tcp",
    }
    sent = platform.ai.last("Ask")
    assert (sent.question, sent.scan_id, sent.owner.org_id) == (ASK["question"], "scan_1", "org_1")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"question": ""}, "question"),
        ({"question": "x" * 2001}, "question"),
        ({}, "question"),
        ({"question": "hi", "context": {"scan_id": "scan_1", "asset": "10.0.0.5"}}, "context"),
        ({"question": "hi", "context": {"scan_id": "scan 1; drop"}}, "context.scan_id"),
        ({"question": "hi", "model": "gpt"}, "model"),
    ],
)
def test_ask_refuses_a_bad_body_with_422_naming_the_field(
    platform: StubPlatform, client: TestClient, body: dict[str, object], field: str
) -> None:
    response = client.post("/api/v1/ai/ask", json=body, headers=platform.token("ai:use"))
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert error["details"]["field"] == field
    assert platform.calls() == 0


def test_the_assistant_needs_the_ai_use_scope(platform: StubPlatform, client: TestClient) -> None:
    for path, body in (("ask", ASK), ("explain", {"concept": "tls"}), ("report", {"scan_id": "scan_1"})):
        response = client.post(f"/api/v1/ai/{path}", json=body, headers=platform.token("scans:read"))
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "INSUFFICIENT_PERMISSIONS"
    assert platform.calls() == 0


def test_another_tenants_scan_is_404_scan_not_found(platform: StubPlatform, client: TestClient) -> None:
    other = platform.token("ai:use", org="org_2")
    for path, body in (("ask", ASK), ("report", {"scan_id": "scan_1"})):
        response = client.post(f"/api/v1/ai/{path}", json=body, headers=other)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "SCAN_NOT_FOUND"
        assert "redis" not in response.text


def events(text: str) -> list[tuple[str, dict[str, object]]]:
    out = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "event" in fields:
            out.append((fields["event"], json.loads(fields["data"])))
    return out


def test_ask_streams_chunks_then_a_done_event_with_the_citations(
    platform: StubPlatform, client: TestClient
) -> None:
    headers = {**platform.token("ai:use"), "Accept": "text/event-stream"}
    response = client.post("/api/v1/ai/ask", json=ASK, headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    stream = events(response.text)
    chunks = [data for name, data in stream if name == "chunk"]
    assert "".join(str(c["text"]) for c in chunks) == ANSWER
    assert len(chunks) == 2
    name, done = stream[-1]
    assert name == "done"
    assert [c["ref"] for c in done["citations"]] == ["scan_1", "10.0.0.7:6379"]
    assert "answer" not in done


def test_explain_maps_the_level_and_returns_related_ids(platform: StubPlatform, client: TestClient) -> None:
    response = client.post(
        "/api/v1/ai/explain",
        json={"concept": "port scanning", "level": "beginner"},
        headers=platform.token("ai:use"),
    )
    data = response.json()["data"]
    assert platform.ai.last("Explain").level == ai_pb2.EXPLAIN_LEVEL_BEGINNER
    assert data["level"] == "beginner"
    assert data["found"] is True
    assert data["example"] is None
    assert data["related"] == [{"id": "T1046", "kind": "attack", "name": "Network Service Discovery"}]
    bad = client.post(
        "/api/v1/ai/explain", json={"concept": "tls", "level": "guru"}, headers=platform.token("ai:use")
    )
    assert bad.status_code == 422
    assert bad.json()["error"]["details"]["field"] == "level"


def test_report_sends_type_and_sections_and_streams_them_section_by_section(
    platform: StubPlatform, client: TestClient
) -> None:
    body = {
        "scan_id": "scan_1",
        "report_type": "executive",
        "include_sections": ["recommendations", "summary"],
    }
    whole = client.post("/api/v1/ai/report", json=body, headers=platform.token("ai:use")).json()["data"]
    assert whole["report_type"] == "executive"
    assert [s["name"] for s in whole["sections"]] == ["recommendations", "summary"]
    sent = platform.ai.last("GenerateReport")
    assert sent.report_type == ai_pb2.REPORT_TYPE_EXECUTIVE
    assert list(sent.include_sections) == body["include_sections"]
    headers = {**platform.token("ai:use"), "Accept": "text/event-stream"}
    stream = events(client.post("/api/v1/ai/report", json=body, headers=headers).text)
    assert [d.get("section") for n, d in stream if n == "chunk" and d.get("title")] == [
        "recommendations",
        "summary",
    ]
    assert stream[-1][0] == "done"
    bad = client.post(
        "/api/v1/ai/report", json={**body, "include_sections": ["appendix"]}, headers=platform.token()
    )
    assert bad.status_code == 422


def test_every_assistant_request_carries_the_plans_assistant_quotas(
    platform: StubPlatform, client: TestClient
) -> None:
    headers = platform.token("ai:use")
    client.post("/api/v1/ai/ask", json=ASK, headers=headers)
    client.post("/api/v1/ai/explain", json={"concept": "tls"}, headers=headers)
    client.post("/api/v1/ai/report", json={"scan_id": "scan_1"}, headers=headers)
    for method in ("Ask", "Explain", "GenerateReport"):
        limits = platform.ai.last(method).limits
        assert (limits.requests_per_day, limits.tokens_per_day) == (40, 9_000)


def test_over_quota_is_429_in_the_envelope_with_retry_after_until_utc_midnight(
    platform: StubPlatform, client: TestClient
) -> None:
    platform.ai.fail(
        "Ask",
        rpc_error(
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            "daily assistant quota of 40 requests reached",
            "AI_QUOTA_EXCEEDED",
            limit=40,
            retry_after=5_400,
            resets_at="2026-11-22T00:00:00Z",
        ),
    )
    response = client.post("/api/v1/ai/ask", json=ASK, headers=platform.token("ai:use"))
    assert response.status_code == 429
    assert response.headers["retry-after"] == "5400"
    error = response.json()["error"]
    assert error["code"] == "AI_QUOTA_EXCEEDED"
    assert error["details"] == {"limit": 40, "retry_after": 5_400, "resets_at": "2026-11-22T00:00:00Z"}


def test_history_lists_the_callers_entries_and_another_callers_id_is_404(
    platform: StubPlatform, client: TestClient
) -> None:
    listed = client.get("/api/v1/ai/history?per_page=5", headers=platform.token("ai:use")).json()["data"]
    assert [item["history_id"] for item in listed["items"]] == ["aih_0001"]
    assert (listed["total"], listed["per_page"], listed["next_cursor"]) == (1, 5, None)
    assert listed["items"][0]["citations"][1]["port"] == 6379
    sent = platform.ai.last("ListHistory")
    assert (sent.owner.org_id, sent.page.per_page, sent.page.cursor) == ("org_1", 5, "")
    entry = client.get("/api/v1/ai/history/aih_0001", headers=platform.token("ai:use")).json()["data"]
    assert (entry["question"], entry["answer"], entry["key_id"]) == ("What is exposed?", ANSWER, None)
    other = client.get("/api/v1/ai/history/aih_0001", headers=platform.token("ai:use", org="org_2"))
    assert other.status_code == 404
    assert other.json()["error"]["code"] == "AI_HISTORY_NOT_FOUND"
    sandbox = client.get("/api/v1/ai/history", headers=platform.token("ai:use", mode="test")).json()["data"]
    assert sandbox["items"] == []
    bad = client.get("/api/v1/ai/history?cursor=abc", headers=platform.token("ai:use"))
    assert bad.status_code == 422


def test_profile_and_stats_show_todays_assistant_use_against_the_plan(
    platform: StubPlatform, client: TestClient
) -> None:
    usage = client.get("/api/v1/user/profile", headers=platform.token()).json()["data"]["usage"]
    assert usage["assistant_requests_today"] == {"used": 3, "limit": 40, "remaining": 37, "reset": None}
    assert usage["assistant_tokens_today"]["used"] == 1234
    assert usage["assistant_tokens_today"]["remaining"] == 9_000 - 1234
    stats = client.get("/api/v1/stats", headers=platform.token()).json()["data"]
    assert stats["assistant"] == {"requests_today": 3, "tokens_today": 1234, "history_entries": 0}


def test_profile_still_answers_when_ai_service_does_not(platform: StubPlatform, client: TestClient) -> None:
    platform.ai.fail("GetUsage", rpc_error(grpc.StatusCode.UNAVAILABLE, "down"))
    response = client.get("/api/v1/user/profile", headers=platform.token())
    assert response.status_code == 200
    assert "assistant_requests_today" not in response.json()["data"]["usage"]
