"""The vulnerabilities export: records chosen by the list filters, in each format, for the requester
only, within the cap; and the adapter that pages threat-service's list."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, cast

import jsonschema
import pytest
from pypdf import PdfReader
from test_exports_formats import HOSTILE, SCHEMA_PATH, parse
from webhook_fakes import FakeWebhookRepository, settings

from rampart.common.v1 import common_pb2
from rampart.lib.errors import InvalidArgument
from rampart.report.v1 import report_pb2
from rampart.threat.v1 import threat_pb2
from rampart_report.bootstrap import assemble
from rampart_report.exports import mappers
from rampart_report.exports.csvfile import FINDING_COLUMNS, VULNERABILITY_COLUMNS
from rampart_report.exports.errors import ExportTooLarge
from rampart_report.exports.fakes import MemoryFindings, MemoryRecords, MemoryScans
from rampart_report.exports.model import ExportFormat, VulnerabilityFilter, VulnerabilitySet
from rampart_report.exports.ports import Requester
from rampart_report.exports.samples import FINDINGS, as_records, sample_vulnerabilities
from rampart_report.exports.sarif import FINGERPRINT_KEY
from rampart_report.exports.service import MAX_RECORDS, ExportService, render_vulnerabilities
from rampart_report.exports.sources import GrpcVulnerabilitySource

ALICE = Requester("org_a", "user_a")
ALICE_TEST = Requester("org_a", "user_a", live=False)
BOB = Requester("org_b", "user_b")
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def sarif_validator() -> jsonschema.protocols.Validator:
    if not SCHEMA_PATH.exists():
        pytest.fail(f"the SARIF 2.1.0 schema is read from {SCHEMA_PATH} (shared/ beside the repository)")
    schema = json.loads(SCHEMA_PATH.read_text())
    return jsonschema.validators.validator_for(schema)(schema)


def rendered(fmt: ExportFormat, data: VulnerabilitySet | None = None) -> bytes:
    return render_vulnerabilities(data or sample_vulnerabilities(), fmt).content


# ---- formats -----------------------------------------------------------------------------


def test_sarif_is_one_valid_run_whose_fingerprints_are_the_records(sarif_validator: Any) -> None:
    log = json.loads(rendered(ExportFormat.SARIF))
    sarif_validator.validate(log)
    (run,) = log["runs"]
    results = run["results"]
    assert [r["partialFingerprints"][FINGERPRINT_KEY] for r in results] == [f.fingerprint for f in FINDINGS]
    assert [r["properties"]["vulnerabilityId"] for r in results] == [
        f"vuln_{f.fingerprint}" for f in FINDINGS
    ]
    assert {rule["id"] for rule in run["tool"]["driver"]["rules"]} == {f.subject for f in FINDINGS}
    assert run["automationDetails"]["id"].startswith("rampart-vulnerabilities/")
    assert run["properties"]["filters"] == {"status": "open,reopened", "severity": "high,medium"}


def test_sarif_of_no_record_and_of_a_hostile_evidence_stays_valid(sarif_validator: Any) -> None:
    empty = replace(sample_vulnerabilities(), records=())
    sarif_validator.validate(json.loads(rendered(ExportFormat.SARIF, empty)))
    hostile = as_records((replace(FINDINGS[0], evidence={"http.server": HOSTILE}),))
    sarif_validator.validate(json.loads(rendered(ExportFormat.SARIF, replace(empty, records=hostile))))


def test_csv_has_a_row_per_record_the_findings_columns_first_and_no_formula_cells() -> None:
    formula = replace(FINDINGS[0], service="=cmd|' /C calc'!A0", title="+1")
    data = replace(sample_vulnerabilities(), records=as_records((formula, *FINDINGS[1:])))
    rows = list(csv.reader(io.StringIO(rendered(ExportFormat.CSV, data).decode())))
    assert tuple(rows[0]) == VULNERABILITY_COLUMNS
    assert VULNERABILITY_COLUMNS[: len(FINDING_COLUMNS)] == FINDING_COLUMNS
    assert len(rows) == 1 + len(FINDINGS)
    first = dict(zip(rows[0], rows[1], strict=True))
    assert first["vulnerability_id"] == f"vuln_{FINDINGS[0].fingerprint}"
    assert first["title"] == "'+1"
    assert first["service"] == "'=cmd|' /C calc'!A0"
    assert not any(cell and cell[0] in "=+-@" for row in rows[1:] for cell in row)


def test_json_holds_the_filters_the_order_and_each_record() -> None:
    body = json.loads(rendered(ExportFormat.JSON))
    assert (body["count"], body["sort"], body["order"], body["sandbox"]) == (
        len(FINDINGS),
        "priority",
        "desc",
        False,
    )
    assert [item["fingerprint"] for item in body["vulnerabilities"]] == [f.fingerprint for f in FINDINGS]
    item = body["vulnerabilities"][0]
    assert (item["id"], item["first_scan_id"], item["sightings"]) == (FINDINGS[0].subject, "scan_sample04", 1)


def test_html_is_self_contained_lists_every_record_and_escapes_evidence() -> None:
    hostile = replace(FINDINGS[0], evidence={"http.server": HOSTILE})
    data = replace(sample_vulnerabilities(), records=as_records((hostile, *FINDINGS[1:])))
    html = rendered(ExportFormat.HTML, data)
    page = parse(html)
    assert page.urls
    assert all(url.startswith("#") for url in page.urls), page.urls
    assert {"script", "img", "link", "iframe"}.isdisjoint(page.tags)
    assert page.tags.count("svg") == 3  # severity, hosts, statuses
    text = " ".join(page.text)
    for finding in FINDINGS:
        assert f"{finding.host}:{finding.port}/{finding.protocol}" in text
        assert finding.remediation in text
    assert "status=open,reopened" in text
    assert any('"><script>alert(1)</script>' in chunk for chunk in page.text)


def test_pdf_text_is_extractable_with_cover_contents_page_numbers_and_every_record() -> None:
    pdf = rendered(ExportFormat.PDF)
    pages = [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]
    assert "Vulnerability report" in pages[0]
    assert "Contents" in pages[0]
    assert f"Page 2 of {len(pages)}" in pages[1]
    text = "\n".join(pages)
    for finding in FINDINGS:
        assert finding.subject in text
        assert f"{finding.host}:{finding.port}/{finding.protocol}" in text


# ---- the use case ------------------------------------------------------------------------


def service() -> tuple[ExportService, MemoryRecords]:
    records = MemoryRecords()
    for record in as_records(FINDINGS):
        records.add(ALICE, record, scans=("scan_sample04",))
    sandbox = replace(FINDINGS[0], fingerprint="f" * 32, host="192.0.2.99")
    records.add(ALICE_TEST, as_records((sandbox,))[0])
    records.add(BOB, as_records((replace(FINDINGS[1], host="198.51.100.7"),))[0])
    return ExportService(MemoryScans(), MemoryFindings(), records, clock=lambda: NOW), records


async def test_an_organisation_exports_its_own_records_only() -> None:
    exports, _ = service()
    body = json.loads(
        (await exports.export_vulnerabilities(ALICE, VulnerabilityFilter(), ExportFormat.JSON)).content
    )
    assert {item["host"] for item in body["vulnerabilities"]} == {f.host for f in FINDINGS}
    body = json.loads(
        (await exports.export_vulnerabilities(BOB, VulnerabilityFilter(), ExportFormat.JSON)).content
    )
    assert [item["host"] for item in body["vulnerabilities"]] == ["198.51.100.7"]


async def test_a_test_key_exports_the_sandbox_records_only_and_says_so() -> None:
    exports, _ = service()
    file = await exports.export_vulnerabilities(ALICE_TEST, VulnerabilityFilter(), ExportFormat.JSON)
    body = json.loads(file.content)
    assert body["sandbox"] is True
    assert [item["host"] for item in body["vulnerabilities"]] == ["192.0.2.99"]
    assert file.filename == "vulnerabilities-20261121T120000Z.json"


async def test_the_filters_choose_and_are_named_in_the_file() -> None:
    exports, _ = service()
    chosen = VulnerabilityFilter(severities=("high",), host=FINDINGS[0].host)
    body = json.loads((await exports.export_vulnerabilities(ALICE, chosen, ExportFormat.JSON)).content)
    assert body["filters"] == {"severity": "high", "host": FINDINGS[0].host}
    assert all(
        item["severity"] == "high" and item["host"] == FINDINGS[0].host for item in body["vulnerabilities"]
    )


async def test_more_records_than_the_formats_cap_is_export_too_large() -> None:
    exports, records = service()
    many = as_records(
        tuple(
            replace(FINDINGS[0], port=port, fingerprint=f"{port:032d}")
            for port in range(1, MAX_RECORDS[ExportFormat.PDF] + 1)
        )
    )
    for record in many:
        records.add(ALICE, record)
    with pytest.raises(ExportTooLarge) as refused:
        await exports.export_vulnerabilities(ALICE, VulnerabilityFilter(), ExportFormat.PDF)
    assert refused.value.public_code == "EXPORT_TOO_LARGE"
    csv_file = await exports.export_vulnerabilities(ALICE, VulnerabilityFilter(), ExportFormat.CSV)
    assert csv_file.content.decode().count("\n") == 1 + len(FINDINGS) + len(many)


async def test_export_vulnerabilities_decodes_the_request_over_grpc() -> None:
    exports, _ = service()
    servicer = assemble(_NoTimelines(), FakeWebhookRepository(), settings(), exports=exports).servicer
    request = report_pb2.ExportVulnerabilitiesRequest(
        owner=common_pb2.Owner(org_id="org_a", user_id="user_a", mode=common_pb2.KEY_MODE_LIVE),
        format=report_pb2.FORMAT_CSV,
        filter=threat_pb2.ListVulnerabilitiesRequest(severities=[common_pb2.SEVERITY_HIGH]),
    )
    reply = await servicer.ExportVulnerabilities(request, cast(Any, None))
    assert reply.content_type == "text/csv; charset=utf-8"
    assert reply.content.decode().count("\n") == 1 + sum(f.severity == "high" for f in FINDINGS)


class _NoTimelines:
    async def add(self, entry: Any) -> bool:
        return True

    async def entries(self, org_id: str, scan_id: str) -> list[Any]:
        return []


@pytest.mark.parametrize(
    ("chosen", "field"),
    [
        (threat_pb2.ListVulnerabilitiesRequest(page=common_pb2.PageRequest(sort="title")), "sort"),
        (threat_pb2.ListVulnerabilitiesRequest(severities=[cast(Any, 42)]), "severity"),
        (threat_pb2.ListVulnerabilitiesRequest(port=70000), "port"),
    ],
)
def test_a_filter_threat_service_would_refuse_is_invalid_argument(
    chosen: threat_pb2.ListVulnerabilitiesRequest, field: str
) -> None:
    request = report_pb2.ExportVulnerabilitiesRequest(format=report_pb2.FORMAT_JSON, filter=chosen)
    with pytest.raises(InvalidArgument) as refused:
        mappers.vulnerabilities_request(request)
    assert refused.value.details["field"] == field


def test_the_filters_cross_to_threat_service_as_the_list_reads_them() -> None:
    given = threat_pb2.ListVulnerabilitiesRequest(
        severities=[common_pb2.SEVERITY_HIGH, common_pb2.SEVERITY_CRITICAL],
        statuses=[threat_pb2.VULNERABILITY_STATUS_REOPENED, threat_pb2.VULNERABILITY_STATUS_OPEN],
        kev=False,
        cve="CVE-2024-6387",
        host="10.0.0.5",
        port=22,
        scan_id="scan_2",
        type=threat_pb2.VULNERABILITY_TYPE_EXPOSURE,
        page=common_pb2.PageRequest(sort="last_seen", descending=False),
    )
    given.first_seen.after.FromDatetime(datetime(2026, 1, 1, tzinfo=UTC))
    request = report_pb2.ExportVulnerabilitiesRequest(
        owner=common_pb2.Owner(org_id="org_a", mode=common_pb2.KEY_MODE_TEST),
        format=report_pb2.FORMAT_PDF,
        filter=given,
    )
    requester, chosen, fmt = mappers.vulnerabilities_request(request)
    assert (requester.live, fmt) == (False, ExportFormat.PDF)
    sent = mappers.list_request(requester, chosen, 100, "cur")
    assert sent.owner.mode == common_pb2.KEY_MODE_TEST
    assert sorted(sent.severities) == sorted(given.severities)
    assert sorted(sent.statuses) == sorted(given.statuses)
    assert sent.HasField("kev")
    assert sent.kev is False
    assert (sent.cve, sent.host, sent.port, sent.scan_id, sent.type) == (
        "CVE-2024-6387",
        "10.0.0.5",
        22,
        "scan_2",
        threat_pb2.VULNERABILITY_TYPE_EXPOSURE,
    )
    assert sent.first_seen.after == given.first_seen.after
    assert not sent.first_seen.HasField("before")
    assert (sent.page.sort, sent.page.descending, sent.page.per_page, sent.page.cursor) == (
        "last_seen",
        False,
        100,
        "cur",
    )


# ---- the adapter over threat-service -----------------------------------------------------


class PagedThreat:
    """ListVulnerabilities over ``total`` records, ``per_page`` at a time with a cursor."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.asked: list[threat_pb2.ListVulnerabilitiesRequest] = []

    async def ListVulnerabilities(
        self,
        request: threat_pb2.ListVulnerabilitiesRequest,
        timeout: float,  # noqa: ASYNC109  # the stub's signature
    ) -> Any:
        self.asked.append(request)
        start = int(request.page.cursor or 0)
        end = min(start + request.page.per_page, self.total)
        items = [
            threat_pb2.Vulnerability(
                vulnerability_id=f"vuln_{n:032x}",
                fingerprint=f"{n:032x}",
                rule_id="RMP-X-001",
                host="192.0.2.1",
                port=n,
            )
            for n in range(start, end)
        ]
        page = common_pb2.PageInfo(total=self.total, next_cursor=str(end) if end < self.total else "")
        return threat_pb2.ListVulnerabilitiesResponse(vulnerabilities=items, page=page)


async def test_the_adapter_reads_every_page_as_the_requester() -> None:
    threat = PagedThreat(250)
    found = await GrpcVulnerabilitySource(cast(Any, threat)).records(ALICE_TEST, VulnerabilityFilter(), 1000)
    assert [record.finding.port for record in found] == list(range(250))
    assert [request.page.cursor for request in threat.asked] == ["", "100", "200"]
    assert {request.owner.mode for request in threat.asked} == {common_pb2.KEY_MODE_TEST}


async def test_the_adapter_refuses_after_one_page_when_more_match_than_the_cap() -> None:
    threat = PagedThreat(250)
    with pytest.raises(ExportTooLarge) as refused:
        await GrpcVulnerabilitySource(cast(Any, threat)).records(ALICE, VulnerabilityFilter(), 200)
    assert refused.value.details == {"limit": 200, "matched": 250}
    assert len(threat.asked) == 1
