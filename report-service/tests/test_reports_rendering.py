"""Reports rendered by the real exports renderers over in-memory sources: sections shape what is
shown, several scans make one file (SARIF: one run per scan, schema-valid), executive reports
read as text in their PDF, and a test key's report never reads a live scan."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from compliance_fakes import ACME, completed_scan, finding, world
from pypdf import PdfReader

from rampart_report.exports.fakes import MemoryFindings, MemoryScans
from rampart_report.exports.ports import Requester
from rampart_report.exports.samples import FINDINGS, HISTORY, PORTS, SCAN
from rampart_report.exports.service import ExportService
from rampart_report.reports.model import (
    Report,
    ReportFailed,
    ReportFormat,
    ReportRequest,
    ReportType,
    Tenant,
    checked,
)
from rampart_report.reports.narrative import NarrativeUnavailable
from rampart_report.reports.rendering import ReportRenderer

pytestmark = pytest.mark.timeout(60)
SCHEMA_PATH = Path(__file__).resolve().parents[2].parent / "shared" / "schemas" / "sarif-schema-2.1.0.json"
ALICE = Tenant("org_a", "user_a")
ALICE_TEST = Tenant("org_a", "user_a", sandbox=True)
SECOND = replace(SCAN, scan_id="scan_second", targets=("198.51.100.7",))
AT = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


class Down:
    async def narrate(self, tenant: Tenant, scan_id: str, sections: tuple[str, ...]) -> Mapping[str, str]:
        raise NarrativeUnavailable("ai-service answered UNAVAILABLE")


class Assistant:
    async def narrate(self, tenant: Tenant, scan_id: str, sections: tuple[str, ...]) -> Mapping[str, str]:
        return {name: f"The assistant's {name} of {scan_id}." for name in sections}


def sources(findings_down: bool = False) -> ExportService:
    scans, findings = MemoryScans(), MemoryFindings(down=findings_down)
    live = Requester("org_a", "user_a")
    scans.add(live, SCAN, PORTS)
    scans.add(live, SECOND, tuple(replace(p, host="198.51.100.7") for p in PORTS))
    scans.add(
        Requester("org_a", "user_a", live=False), replace(SCAN, scan_id="scan_sandbox", sandbox=True), PORTS
    )
    scans.history_points["org_a"] = HISTORY
    findings.by_scan[("org_a", SCAN.scan_id)] = FINDINGS
    findings.by_scan[("org_a", SECOND.scan_id)] = tuple(replace(f, host="198.51.100.7") for f in FINDINGS)
    return ExportService(scans, findings)


def report(
    kind: ReportType, fmt: ReportFormat, *scans: str, sections: tuple[str, ...] = (), tenant: Tenant = ALICE
) -> Report:
    request = checked(ReportRequest(kind, fmt, scans, sections))
    return Report("rep_test", tenant, request, AT, AT)


async def no_progress(stage: str, percent: int) -> None:
    return None


async def render(rep: Report, narrator: Any = None, findings_down: bool = False) -> Any:
    renderer = ReportRenderer(sources(findings_down), narrator or Down(), 5.0, clock=lambda: AT)
    return await renderer.render(rep, no_progress)


async def test_a_technical_html_report_shows_only_the_sections_asked_for() -> None:
    full = await render(report(ReportType.TECHNICAL, ReportFormat.HTML, SCAN.scan_id))
    page = full.content.decode()
    assert FINDINGS[0].title in page
    assert "6379" in page
    cut = await render(report(ReportType.TECHNICAL, ReportFormat.JSON, SCAN.scan_id, sections=("findings",)))
    body = json.loads(cut.content)
    assert [f["fingerprint"] for f in body["findings"]] == [f.fingerprint for f in FINDINGS]
    assert body["ports"] == []
    assert [s.name for s in cut.sections] == ["findings"]
    assert (full.content_type, cut.content_type) == ("text/html; charset=utf-8", "application/json")
    assert full.filename == "technical-report-rep_test.html"


async def test_a_sarif_report_of_two_scans_has_one_schema_valid_run_per_scan() -> None:
    if not SCHEMA_PATH.exists():
        pytest.fail(f"the SARIF 2.1.0 schema is read from {SCHEMA_PATH} (shared/ beside the repository)")
    schema = json.loads(SCHEMA_PATH.read_text())
    rendered = await render(report(ReportType.TECHNICAL, ReportFormat.SARIF, SCAN.scan_id, SECOND.scan_id))
    log = json.loads(rendered.content)
    jsonschema.validators.validator_for(schema)(schema).validate(log)
    assert len(log["runs"]) == 2
    assert sum(len(run["results"]) for run in log["runs"]) == 2 * len(FINDINGS)


async def test_a_remediation_csv_has_a_row_per_finding_of_every_scan() -> None:
    rendered = await render(report(ReportType.REMEDIATION, ReportFormat.CSV, SCAN.scan_id, SECOND.scan_id))
    rows = rendered.content.decode().strip().splitlines()
    assert len(rows) == 1 + 2 * len(FINDINGS)
    assert any("198.51.100.7" in row for row in rows[1:])


async def test_without_findings_the_findings_section_is_unavailable_and_the_report_is_still_made() -> None:
    rendered = await render(report(ReportType.TECHNICAL, ReportFormat.JSON, SCAN.scan_id), findings_down=True)
    by_name = {s.name: s for s in rendered.sections}
    assert not by_name["findings"].included
    assert "threat-service did not answer" in by_name["findings"].note
    assert by_name["ports"].included


async def test_an_executive_pdf_reads_as_text_with_the_summary_when_the_assistant_is_down() -> None:
    rendered = await render(report(ReportType.EXECUTIVE, ReportFormat.PDF, SCAN.scan_id))
    assert rendered.content.startswith(b"%PDF")
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(rendered.content)).pages)
    assert "Executive report" in text
    assert FINDINGS[0].title in text
    assert "deterministic summary" in text
    assert all(s.source == "summary" for s in rendered.sections)


async def test_an_executive_json_uses_the_assistants_words_when_it_answers() -> None:
    rendered = await render(
        report(ReportType.EXECUTIVE, ReportFormat.JSON, SCAN.scan_id), narrator=Assistant()
    )
    body = json.loads(rendered.content)
    assert [(s["name"], s["source"]) for s in body["sections"]] == [
        ("summary", "assistant"),
        ("risk", "assistant"),
        ("recommendations", "assistant"),
    ]
    assert body["sections"][0]["body"] == f"The assistant's summary of {SCAN.scan_id}."
    assert body["severities"]["high"] == sum(1 for f in FINDINGS if f.severity == "high")


async def test_an_unknown_scan_or_a_live_scan_for_a_test_key_fails_the_report() -> None:
    with pytest.raises(ReportFailed, match="scan_nope"):
        await render(report(ReportType.TECHNICAL, ReportFormat.JSON, "scan_nope"))
    with pytest.raises(ReportFailed, match=SCAN.scan_id):
        await render(report(ReportType.TECHNICAL, ReportFormat.JSON, SCAN.scan_id, tenant=ALICE_TEST))
    sandbox = await render(report(ReportType.TECHNICAL, ReportFormat.JSON, "scan_sandbox", tenant=ALICE_TEST))
    assert json.loads(sandbox.content)["scan"]["sandbox"] is True


def compliance_world() -> Any:
    w = world()
    w.sources.scans_by_org[ACME.org_id].append(completed_scan("scan_1", "10.0.0.5"))
    w.sources.findings_by_org[ACME.org_id].append(
        finding(
            "vuln_telnet",
            rule_id="RMP-CLEAR-001",
            cwes=("CWE-319",),
            type="exposure",
            severity="high",
            port=23,
        )
    )
    return w


def compliance_report(
    fmt: ReportFormat, frameworks: tuple[str, ...], tenant: Tenant, sections: tuple[str, ...] = ()
) -> Report:
    request = checked(ReportRequest(ReportType.COMPLIANCE, fmt, (), sections, frameworks=frameworks))
    return Report("rep_comp", tenant, request, AT, AT)


async def test_a_compliance_report_shows_the_posture_and_the_failing_controls_gaps() -> None:
    w = compliance_world()
    renderer = ReportRenderer(sources(), Down(), 5.0, compliance=w.service, clock=lambda: AT)
    acme = Tenant(ACME.org_id, ACME.user_id)
    rendered = await renderer.render(compliance_report(ReportFormat.JSON, ("pci-dss",), acme), no_progress)
    body = json.loads(rendered.content)
    [pci] = body["frameworks"]
    assert (pci["framework"], pci["failing"]) == ("pci-dss", len(pci["failing_controls"]))
    failing = {c["control_id"]: c for c in pci["failing_controls"]}
    assert failing["pci-dss:2.2.4"]["gaps"][0]["port"] == 23
    assert [s.name for s in rendered.sections] == ["posture", "gaps"]
    pdf = await renderer.render(compliance_report(ReportFormat.PDF, ("pci-dss",), acme), no_progress)
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "pci-dss:2.2.4" in text
    assert "10.0.0.5:23" in text


async def test_a_compliance_report_without_gaps_and_one_of_an_unknown_framework() -> None:
    w = compliance_world()
    renderer = ReportRenderer(sources(), Down(), 5.0, compliance=w.service, clock=lambda: AT)
    acme = Tenant(ACME.org_id, ACME.user_id)
    posture_only = await renderer.render(
        compliance_report(ReportFormat.JSON, (), acme, sections=("posture",)), no_progress
    )
    assert all("failing_controls" not in f for f in json.loads(posture_only.content)["frameworks"])
    with pytest.raises(ReportFailed, match="framework"):
        await renderer.render(compliance_report(ReportFormat.JSON, ("sox",), acme), no_progress)


@pytest.mark.parametrize("kind", [ReportType.EXECUTIVE, ReportType.COMPLIANCE])
async def test_the_reports_own_html_pages_fetch_nothing(kind: ReportType) -> None:
    w = compliance_world()
    renderer = ReportRenderer(sources(), Down(), 5.0, compliance=w.service, clock=lambda: AT)
    scans = (SCAN.scan_id,) if kind is ReportType.EXECUTIVE else ()
    request = checked(ReportRequest(kind, ReportFormat.HTML, scans))
    page = (await renderer.render(Report("rep_html", ALICE, request, AT, AT), no_progress)).content.decode()
    assert page.startswith("<!DOCTYPE html>")
    assert not re.search(r"""(?:src|href)=["'](?!#)|url\(|@import""", page)
