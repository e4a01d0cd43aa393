"""Asset handlers against a stub threat-service: queries, scopes, views, another tenant's id."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from gateway.tests.stub_assets import web_server
from gateway.tests.stubs import StubPlatform
from rampart.common.v1 import common_pb2
from rampart.threat.v1 import threat_pb2


@pytest.fixture
def platform() -> StubPlatform:
    stub = StubPlatform()
    stub.threat.add_asset("org_1", web_server("asset_web"))
    stub.threat.add_asset("org_2", web_server("asset_theirs"))
    return stub


@pytest.fixture
def client(platform: StubPlatform) -> Iterator[TestClient]:
    with platform.client() as test_client:
        yield test_client


def test_the_listing_sends_every_filter_sort_and_page_to_threat_service(
    platform: StubPlatform, client: TestClient
) -> None:
    query = (
        "host=203.0.113&port=443&service=https&os=debian&has_findings=true&severity=high"
        "&seen_after=2026-03-01T00:00:00Z&seen_before=2026-04-01T00:00:00%2B02:00"
        "&sort=findings&order=asc&page=2&per_page=5"
    )
    response = client.get(f"/api/v1/assets?{query}", headers=platform.token("threats:read"))
    assert response.status_code == 200
    sent = platform.threat.last("ListAssets")
    assert (sent.text, sent.port, sent.service, sent.os) == ("203.0.113", 443, "https", "debian")
    assert (sent.HasField("has_findings"), sent.has_findings) == (True, True)
    assert sent.min_severity == common_pb2.SEVERITY_HIGH
    assert sent.seen.after.ToJsonString() == "2026-03-01T00:00:00Z"
    assert sent.seen.before.ToJsonString() == "2026-03-31T22:00:00Z"
    assert (sent.sort, sent.ascending, sent.page, sent.page_size) == (
        threat_pb2.ASSET_SORT_FINDINGS,
        True,
        2,
        5,
    )
    assert sent.owner.org_id == "org_1"


def test_a_listing_without_filters_leaves_them_unset(platform: StubPlatform, client: TestClient) -> None:
    platform.threat.next_cursor = "abc_1"
    response = client.get("/api/v1/assets", headers=platform.token("threats:read"))
    sent = platform.threat.last("ListAssets")
    assert (sent.HasField("has_findings"), sent.HasField("seen"), sent.port, sent.min_severity) == (
        False,
        False,
        0,
        0,
    )
    assert (sent.sort, sent.ascending) == (threat_pb2.ASSET_SORT_LAST_SEEN, False)
    data = response.json()["data"]
    assert (data["total"], data["pages"], data["per_page"], data["next_cursor"]) == (1, 1, 20, "abc_1")
    [item] = data["items"]
    assert item["asset_id"] == "asset_web"  # the other organisation's asset is not listed
    assert "history" not in item


def test_an_asset_is_shown_with_ports_services_os_findings_and_history(
    platform: StubPlatform, client: TestClient
) -> None:
    response = client.get("/api/v1/assets/asset_web", headers=platform.token("threats:read"))
    assert response.status_code == 200
    data = response.json()["data"]
    assert [(p["port"], p["state"], p["service"]["name"]) for p in data["open_ports"]] == [
        (22, "open", "ssh"),
        (443, "open", "https"),
    ]
    assert data["open_ports"][1]["service"]["tls"] is True
    assert data["services"] == ["https", "ssh"]
    assert (data["os"]["name"], data["os"]["confidence"]) == ("Linux (Debian 12)", 60)
    assert data["findings"] == {"total": 3, "critical": 0, "high": 2, "medium": 0, "low": 1, "info": 0}
    assert [(p["port"], p["state"], p["service"]) for p in data["closed_ports"]] == [(6379, "closed", None)]
    assert [(h["port"], h["change"], h["scan_id"]) for h in data["history"]] == [
        (6379, "opened", "scn_1"),
        (6379, "closed", "scn_2"),
    ]
    assert (data["names"], data["first_seen"], data["sandbox"]) == (
        ["www.example.org"],
        "2026-03-01T09:00:00Z",
        False,
    )


def test_another_organisations_asset_answers_404(platform: StubPlatform, client: TestClient) -> None:
    response = client.get("/api/v1/assets/asset_theirs", headers=platform.token("threats:read"))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "ASSET_NOT_FOUND"


def test_assets_need_the_threats_read_scope(platform: StubPlatform, client: TestClient) -> None:
    for path in ("/api/v1/assets", "/api/v1/assets/asset_web"):
        response = client.get(path, headers=platform.token("scans:read"))
        assert response.status_code == 403
    assert "ListAssets" not in platform.threat.requests
    assert "GetAsset" not in platform.threat.requests


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("port=0", "port"),
        ("port=70000", "port"),
        ("severity=urgent", "severity"),
        ("sort=risk", "sort"),
        ("seen_after=yesterday", "seen_after"),
        ("per_page=500", "per_page"),
        ("has_findings=maybe", "has_findings"),
        ("cursor=not%20a%20cursor", "cursor"),
    ],
)
def test_a_bad_query_is_refused_with_422_naming_the_parameter(
    platform: StubPlatform, client: TestClient, query: str, field: str
) -> None:
    response = client.get(f"/api/v1/assets?{query}", headers=platform.token("threats:read"))
    assert response.status_code == 422
    assert response.json()["error"]["details"]["field"] == field
    assert "ListAssets" not in platform.threat.requests
