"""The export use case and ExportScan on in-memory sources: tenancy, errors, what is fetched."""

from __future__ import annotations

import json
from typing import Any, cast

import pytest
from webhook_fakes import FakeWebhookRepository, settings

from rampart.common.v1 import common_pb2
from rampart.lib.errors import InvalidArgument
from rampart.report.v1 import report_pb2
from rampart_report.bootstrap import assemble
from rampart_report.domain import TimelineEntry
from rampart_report.exports.errors import ScanNotFound
from rampart_report.exports.fakes import MemoryFindings, MemoryScans
from rampart_report.exports.model import CsvKind, ExportFormat
from rampart_report.exports.ports import Requester
from rampart_report.exports.samples import FINDINGS, HISTORY, PORTS, SCAN
from rampart_report.exports.service import ExportService


class NoTimelines:
    """The timeline repository, unused here."""

    async def add(self, entry: TimelineEntry) -> bool:
        return True

    async def entries(self, org_id: str, scan_id: str) -> list[TimelineEntry]:
        return []


def servicer_over(exports: ExportService) -> Any:
    return assemble(NoTimelines(), FakeWebhookRepository(), settings(), exports=exports).servicer


ALICE = Requester("org_a", "user_a")
BOB = Requester("org_b", "user_b")


def sources() -> tuple[MemoryScans, MemoryFindings]:
    scans, findings = MemoryScans(), MemoryFindings()
    scans.add(ALICE, SCAN, PORTS)
    scans.history_points["org_a"] = HISTORY
    findings.by_scan[("org_a", SCAN.scan_id)] = FINDINGS
    return scans, findings


async def test_an_export_reads_the_scan_and_findings_as_the_requester() -> None:
    scans, findings = sources()
    file = await ExportService(scans, findings).export(ALICE, SCAN.scan_id, ExportFormat.JSON)
    body = json.loads(file.content)
    assert [f["fingerprint"] for f in body["findings"]] == [f.fingerprint for f in FINDINGS]
    assert {who for _, who in scans.asked} == {ALICE}


async def test_another_organisations_scan_is_not_found() -> None:
    scans, findings = sources()
    with pytest.raises(ScanNotFound):
        await ExportService(scans, findings).export(BOB, SCAN.scan_id, ExportFormat.CSV)


async def test_a_test_key_does_not_see_the_live_scan() -> None:
    scans, findings = sources()
    with pytest.raises(ScanNotFound):
        await ExportService(scans, findings).export(
            Requester("org_a", live=False), SCAN.scan_id, ExportFormat.JSON
        )


async def test_without_threat_service_the_export_says_findings_are_unavailable() -> None:
    scans, findings = sources()
    findings.down = True
    file = await ExportService(scans, findings).export(ALICE, SCAN.scan_id, ExportFormat.JSON)
    body = json.loads(file.content)
    assert body["findings"] is None
    assert body["findings_note"] == "Findings unavailable: threat-service did not answer"
    assert len(body["ports"]) == len(PORTS)


async def test_only_the_html_and_pdf_exports_ask_for_the_scan_history() -> None:
    scans, findings = sources()
    service = ExportService(scans, findings)
    await service.export(ALICE, SCAN.scan_id, ExportFormat.SARIF)
    assert [what for what, _ in scans.asked] == ["results"]
    html = await service.export(ALICE, SCAN.scan_id, ExportFormat.HTML)
    assert [what for what, _ in scans.asked] == ["results", "results", "history"]
    assert html.content.count(b"<svg") == 4


async def test_export_scan_decodes_the_request_and_answers_the_file() -> None:
    scans, findings = sources()
    servicer = assemble(
        NoTimelines(), FakeWebhookRepository(), settings(), exports=ExportService(scans, findings)
    ).servicer
    request = report_pb2.ExportScanRequest(
        owner=common_pb2.Owner(org_id="org_a", user_id="user_a", mode=common_pb2.KEY_MODE_LIVE),
        scan_id=SCAN.scan_id,
        format=report_pb2.FORMAT_CSV,
        csv_kind=report_pb2.CSV_KIND_FINDINGS,
    )
    reply = await servicer.ExportScan(request, cast(Any, None))
    assert (reply.filename, reply.content_type) == ("scan_sample01-findings.csv", "text/csv; charset=utf-8")
    assert reply.content.decode().count("\n") == len(FINDINGS) + 1
    assert scans.asked[0][1] == ALICE


async def test_export_scan_refuses_a_missing_format() -> None:
    servicer = assemble(
        NoTimelines(), FakeWebhookRepository(), settings(), exports=ExportService(*sources())
    ).servicer
    request = report_pb2.ExportScanRequest(owner=common_pb2.Owner(org_id="org_a"), scan_id=SCAN.scan_id)
    with pytest.raises(InvalidArgument):
        await servicer.ExportScan(request, cast(Any, None))


def test_the_csv_kind_defaults_to_ports() -> None:
    from rampart_report.exports.mappers import export_request

    request = report_pb2.ExportScanRequest(scan_id="s", format=report_pb2.FORMAT_CSV)
    assert export_request(request)[3] is CsvKind.PORTS
