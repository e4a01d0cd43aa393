"""Report handlers against a stub report-service: the request sent, views, tenancy, and the
download's headers (Content-Type, Content-Disposition, Content-Length, ETag / If-None-Match,
byte ranges)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from gateway.tests.stubs import StubPlatform
from rampart.common.v1 import common_pb2
from rampart.report.v1 import report_pb2
from rampart_gateway.api.reports.download import PART

OWNER = common_pb2.Owner(org_id="org_1", user_id="usr_1", mode=common_pb2.KEY_MODE_LIVE)
PDF = b"%PDF-1.7\n" + bytes(range(256)) * 40  # 10,249 bytes
ETAG = f'"{hashlib.sha256(PDF).hexdigest()}"'


@pytest.fixture
def platform() -> StubPlatform:
    stub = StubPlatform()
    stub.report.add_ready("rep_pdf", OWNER, PDF, "Technical report.pdf")
    return stub


@pytest.fixture
def client(platform: StubPlatform) -> Iterator[TestClient]:
    with platform.client() as test_client:
        yield test_client


def test_asking_for_a_report_is_202_with_the_pending_report_and_sends_the_plan(
    platform: StubPlatform, client: TestClient
) -> None:
    body = {
        "type": "executive",
        "scan_ids": ["scan_1", "scan_2"],
        "format": "html",
        "include_sections": ["risk"],
    }
    reply = client.post("/api/v1/reports", json=body, headers=platform.token("reports:write"))
    assert reply.status_code == 202
    data = reply.json()["data"]
    assert (data["status"], data["type"], data["format"]) == ("pending", "executive", "html")
    assert data["links"]["stream"] == f"/api/v1/reports/{data['report_id']}/stream"
    assert "download" not in data["links"]
    sent = platform.report.last("CreateReport")
    assert sent.report_type == report_pb2.REPORT_TYPE_EXECUTIVE
    assert sent.format == report_pb2.FORMAT_HTML
    assert (list(sent.scan_ids), list(sent.include_sections), sent.plan) == (
        ["scan_1", "scan_2"],
        ["risk"],
        "pro",
    )
    assert sent.request_id == reply.headers["x-request-id"]


def test_a_report_over_assets_and_a_period_sends_them_and_shows_them(
    platform: StubPlatform, client: TestClient
) -> None:
    body = {
        "type": "diff",
        "assets": ["asset_0123456789abcdef0123", "192.0.2.0/24"],
        "period": {"from": "2026-10-01T00:00:00Z", "to": "2026-11-01T00:00:00+01:00"},
        "format": "csv",
    }
    reply = client.post("/api/v1/reports", json=body, headers=platform.token("reports:write"))
    assert reply.status_code == 202, reply.text
    data = reply.json()["data"]
    assert data["assets"] == ["asset_0123456789abcdef0123", "192.0.2.0/24"]
    assert data["period"] == {"from": "2026-10-01T00:00:00Z", "to": "2026-10-31T23:00:00Z"}
    sent = platform.report.last("CreateReport")
    assert (list(sent.scope.assets), sent.scope.last_days, list(sent.scan_ids)) == (body["assets"], 0, [])
    last = client.post(
        "/api/v1/reports",
        json={"type": "technical", "assets": ["10.0.0.1"], "period": {"last_days": 7}},
        headers=platform.token("reports:write"),
    )
    assert last.status_code == 202
    sent = platform.report.last("CreateReport")
    assert sent.scope.last_days == 7
    assert not sent.scope.HasField("period_from")
    by_ids = client.post(
        "/api/v1/reports",
        json={"type": "technical", "scan_ids": ["s"]},
        headers=platform.token("reports:write"),
    )
    assert by_ids.json()["data"]["assets"] is None
    assert not platform.report.last("CreateReport").HasField("scope")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"type": "technical", "assets": ["10.0.0.1"], "period": {"last_days": 0}}, "period.last_days"),
        ({"type": "technical", "assets": ["10.0.0.1"], "period": {"last_days": 367}}, "period.last_days"),
        ({"type": "technical", "assets": ["10.0.0.1"], "period": {"since": "yesterday"}}, "period.since"),
        ({"type": "technical", "assets": ["10.0.0.1"], "period": {"from": "last week"}}, "period.from"),
        ({"type": "technical", "assets": ["10.0.0.1"] * 51}, "assets"),
        ({"type": "weekly", "scan_ids": ["s"]}, "type"),
        ({"type": "technical", "scan_ids": ["s"] * 21}, "scan_ids"),
        ({"type": "technical", "scan_ids": ["s"], "format": "docx"}, "format"),
    ],
)
def test_a_bad_request_is_422_naming_the_field(
    platform: StubPlatform, client: TestClient, body: dict[str, object], field: str
) -> None:
    reply = client.post("/api/v1/reports", json=body, headers=platform.token("reports:write"))
    assert reply.status_code == 422
    assert reply.json()["error"]["details"]["field"] == field
    assert platform.calls() == 0


def test_a_ready_report_shows_its_size_digest_and_download_link(
    platform: StubPlatform, client: TestClient
) -> None:
    data = client.get("/api/v1/reports/rep_pdf", headers=platform.token("reports:read")).json()["data"]
    assert (data["status"], data["size_bytes"], data["sha256"]) == ("ready", len(PDF), ETAG.strip('"'))
    assert data["links"]["download"] == "/api/v1/reports/rep_pdf/download"
    listed = client.get("/api/v1/reports?type=technical", headers=platform.token("reports:read")).json()[
        "data"
    ]
    assert [item["report_id"] for item in listed["items"]] == ["rep_pdf"]
    assert platform.report.last("ListReports").report_type == report_pb2.REPORT_TYPE_TECHNICAL


def test_the_download_has_the_files_type_name_length_and_etag(
    platform: StubPlatform, client: TestClient
) -> None:
    reply = client.get("/api/v1/reports/rep_pdf/download", headers=platform.token("reports:read"))
    assert reply.status_code == 200
    assert reply.content == PDF
    assert reply.headers["content-type"] == "application/pdf"
    assert reply.headers["content-length"] == str(len(PDF))
    assert reply.headers["etag"] == ETAG
    assert reply.headers["accept-ranges"] == "bytes"
    assert reply.headers["content-disposition"].startswith('attachment; filename="Technical_report.pdf"')
    assert "filename*=UTF-8''Technical%20report.pdf" in reply.headers["content-disposition"]


def test_if_none_match_with_the_etag_is_304_without_a_body(
    platform: StubPlatform, client: TestClient
) -> None:
    headers = {**platform.token("reports:read"), "If-None-Match": ETAG}
    reply = client.get("/api/v1/reports/rep_pdf/download", headers=headers)
    assert (reply.status_code, reply.content, reply.headers["etag"]) == (304, b"", ETAG)
    assert "DownloadReport" not in platform.report.requests
    other = {**platform.token("reports:read"), "If-None-Match": '"something-else"'}
    assert client.get("/api/v1/reports/rep_pdf/download", headers=other).status_code == 200


@pytest.mark.parametrize(
    ("header", "first", "last"),
    [
        ("bytes=0-99", 0, 99),
        ("bytes=10000-", 10000, len(PDF) - 1),
        ("bytes=-49", len(PDF) - 49, len(PDF) - 1),
    ],
)
def test_a_byte_range_is_206_with_that_part_only(
    platform: StubPlatform, client: TestClient, header: str, first: int, last: int
) -> None:
    headers = {**platform.token("reports:read"), "Range": header}
    reply = client.get("/api/v1/reports/rep_pdf/download", headers=headers)
    assert reply.status_code == 206
    assert reply.content == PDF[first : last + 1]
    assert reply.headers["content-range"] == f"bytes {first}-{last}/{len(PDF)}"
    assert reply.headers["content-length"] == str(last - first + 1)


def test_a_range_past_the_end_is_416_and_a_stale_if_range_gets_the_whole_file(
    platform: StubPlatform, client: TestClient
) -> None:
    headers = {**platform.token("reports:read"), "Range": f"bytes={len(PDF)}-"}
    reply = client.get("/api/v1/reports/rep_pdf/download", headers=headers)
    assert (reply.status_code, reply.headers["content-range"]) == (416, f"bytes */{len(PDF)}")
    stale = {**platform.token("reports:read"), "Range": "bytes=0-9", "If-Range": '"old"'}
    whole = client.get("/api/v1/reports/rep_pdf/download", headers=stale)
    assert (whole.status_code, whole.content) == (200, PDF)


def test_a_file_larger_than_one_read_comes_whole_in_several_reads(
    platform: StubPlatform, client: TestClient
) -> None:
    big = bytes(range(256)) * (PART // 256 * 2 + 3)
    platform.report.add_ready("rep_big", OWNER, big, "big.pdf")
    reply = client.get("/api/v1/reports/rep_big/download", headers=platform.token("reports:read"))
    assert reply.content == big
    reads = [
        r
        for r in platform.report.requests["DownloadReport"]
        if isinstance(r, report_pb2.DownloadReportRequest)
    ]
    assert [(r.offset, r.length) for r in reads] == [(0, PART), (PART, PART), (2 * PART, len(big) - 2 * PART)]


def test_another_organisations_or_the_test_keys_report_is_404(
    platform: StubPlatform, client: TestClient
) -> None:
    for caller in ({"org": "org_2"}, {"mode": "test"}):
        headers = platform.token("reports:read", "reports:write", **caller)
        for method, path in (
            ("GET", "/api/v1/reports/rep_pdf"),
            ("GET", "/api/v1/reports/rep_pdf/download"),
            ("DELETE", "/api/v1/reports/rep_pdf"),
        ):
            reply = client.request(method, path, headers=headers)
            assert reply.status_code == 404, (caller, path)
            assert reply.json()["error"]["code"] == "REPORT_NOT_FOUND"
        assert client.get("/api/v1/reports", headers=headers).json()["data"]["items"] == []
    assert "rep_pdf" in platform.report.files


def test_a_report_not_ready_is_409_on_download(platform: StubPlatform, client: TestClient) -> None:
    created = client.post(
        "/api/v1/reports",
        json={"type": "technical", "scan_ids": ["s"]},
        headers=platform.token("reports:write"),
    ).json()["data"]
    reply = client.get(
        f"/api/v1/reports/{created['report_id']}/download", headers=platform.token("reports:read")
    )
    assert (reply.status_code, reply.json()["error"]["code"]) == (409, "REPORT_NOT_READY")


def test_deleting_a_report_removes_it(platform: StubPlatform, client: TestClient) -> None:
    reply = client.delete("/api/v1/reports/rep_pdf", headers=platform.token("reports:write"))
    assert reply.json()["data"] == {"report_id": "rep_pdf", "deleted": True}
    assert client.get("/api/v1/reports/rep_pdf", headers=platform.token("reports:read")).status_code == 404
