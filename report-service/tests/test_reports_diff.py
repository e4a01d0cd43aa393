"""Diff reports: the changes between two scans in every format (rendered by the real renderers
over in-memory sources), the pair fixed and checked when the report is asked for, sections, and
the findings side missing when threat-service is away."""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from diff_fakes import FakeScans, scan
from pypdf import PdfReader
from report_fakes import Clock, MemoryFiles, MemoryQueue, MemoryReports
from test_reports_rendering import Down

from rampart.lib.errors import InvalidArgument
from rampart_report.exports.errors import ScanNotFound
from rampart_report.exports.fakes import MemoryFindings, MemoryScans
from rampart_report.exports.ports import Requester
from rampart_report.exports.samples import FINDINGS, PORTS
from rampart_report.exports.service import ExportService
from rampart_report.reports.diff import (
    Certificate,
    CertificateChange,
    CertificateExpiry,
    Diff,
    PortChange,
    ResultsDiff,
    Service,
    ServiceChange,
    findings_diff,
)
from rampart_report.reports.model import (
    NoScanToCompare,
    Report,
    ReportFailed,
    ReportFormat,
    ReportRequest,
    ReportType,
    ScanNotFinished,
    Tenant,
    checked,
)
from rampart_report.reports.picking import ScanPicker
from rampart_report.reports.rendering import ReportRenderer
from rampart_report.reports.service import ReportService, Retention

pytestmark = pytest.mark.timeout(60)
SCHEMA_PATH = Path(__file__).resolve().parents[2].parent / "shared" / "schemas" / "sarif-schema-2.1.0.json"
NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)  # report_fakes.Clock's start
ALICE = Tenant("org_a", "user_a")
LIVE = Requester("org_a", "user_a")
OLD = scan("scan_old", 7, NOW)
NEW = scan("scan_new", 1, NOW)
REOPENED = replace(
    FINDINGS[1],
    fingerprint="f" * 32,
    subject="RMP-SSH-002",
    title="SSH offers weak ciphers",
    host="192.0.2.10",
    port=22,
    severity="medium",
    status="reopened",
)
CERT = Certificate("CN=www.example.test", "CN=Example CA", datetime(2026, 11, 6, tzinfo=UTC), "RSA 2048")
CHANGES = ResultsDiff(
    NEW,
    OLD,
    hosts_up=("192.0.2.12",),
    ports_opened=(PortChange("192.0.2.10", 6380, "tcp", Service("redis", "=HYPERLINK(1)", "7.2.4")),),
    ports_closed=(PortChange("192.0.2.10", 80, "tcp", Service("http", "nginx", "1.18.0")),),
    services_changed=(
        ServiceChange(
            "192.0.2.10", 443, "tcp", Service("https", "nginx", "1.18.0"), Service("https", "nginx", "1.24.0")
        ),
    ),
    certificates_changed=(CertificateChange("192.0.2.10", 443, "tcp", None, CERT),),
    certificates_expiring=(CertificateExpiry("192.0.2.10", 443, "tcp", CERT, 5),),
)


def world(findings_down: bool = False) -> tuple[ReportRenderer, FakeScans]:
    fake = FakeScans(changes={NEW.scan_id: CHANGES})
    exports_scans, findings = MemoryScans(), MemoryFindings(down=findings_down)
    for one in (OLD, NEW):
        fake.add(LIVE, one)
        exports_scans.add(LIVE, one, PORTS)
    findings.by_scan[("org_a", OLD.scan_id)] = (FINDINGS[0], FINDINGS[2])
    findings.by_scan[("org_a", NEW.scan_id)] = (FINDINGS[0], FINDINGS[1], REOPENED)
    renderer = ReportRenderer(
        ExportService(exports_scans, findings), Down(), 5.0, clock=lambda: NOW, diffs=fake
    )
    return renderer, fake


def diff_report(
    fmt: ReportFormat, *scans: str, sections: tuple[str, ...] = (), tenant: Tenant = ALICE
) -> Report:
    request = checked(ReportRequest(ReportType.DIFF, fmt, scans or (NEW.scan_id, OLD.scan_id), sections))
    return Report("rep_diff", tenant, request, NOW, NOW)


async def no_progress(stage: str, percent: int) -> None:
    return None


async def rendered(fmt: ReportFormat, sections: tuple[str, ...] = (), findings_down: bool = False) -> Any:
    renderer, _ = world(findings_down)
    return await renderer.render(diff_report(fmt, sections=sections), no_progress)


def test_findings_are_new_reopened_or_resolved_by_fingerprint() -> None:
    changed = findings_diff((FINDINGS[0], FINDINGS[2]), (FINDINGS[0], FINDINGS[1], REOPENED))
    assert [f.subject for f in changed.new] == ["CVE-2021-32675"]
    assert [f.subject for f in changed.reopened] == ["RMP-SSH-002"]
    assert [f.subject for f in changed.resolved] == ["RMP-TLS-003"]
    assert findings_diff(FINDINGS, FINDINGS) == type(changed)()


async def test_a_json_diff_report_lists_every_kind_of_change_with_its_counts() -> None:
    out = await rendered(ReportFormat.JSON)
    body = json.loads(out.content)
    assert (body["scan"]["scan_id"], body["against"]["scan_id"]) == (NEW.scan_id, OLD.scan_id)
    assert body["summary"] == {
        "hosts_up": 1,
        "hosts_down": 0,
        "ports_opened": 1,
        "ports_closed": 1,
        "services_changed": 1,
        "certificates_changed": 1,
        "certificates_expiring": 1,
        "findings_new": 1,
        "findings_reopened": 1,
        "findings_resolved": 1,
    }
    assert body["changed"] is True
    changes = body["changes"]
    assert [(c["change"], c["host"], c["port"]) for c in changes["ports"]] == [
        ("port_opened", "192.0.2.10", 6380),
        ("port_closed", "192.0.2.10", 80),
    ]
    assert changes["services"][0]["before"] == "https nginx 1.18.0"
    assert changes["services"][0]["after"] == "https nginx 1.24.0"
    assert [c["change"] for c in changes["certificates"]] == ["certificate_changed", "certificate_expiring"]
    assert changes["certificates"][1]["detail"] == "5 days left"
    assert {c["change"]: c["detail"].split(":")[0] for c in changes["findings"]} == {
        "finding_new": "CVE-2021-32675",
        "finding_reopened": "RMP-SSH-002",
        "finding_resolved": "RMP-TLS-003",
    }
    assert [s.name for s in out.sections] == [
        "summary",
        "hosts",
        "ports",
        "services",
        "certificates",
        "findings",
    ]
    assert out.content_type == "application/json"


async def test_a_diff_report_in_html_and_pdf_names_the_opened_port_and_fetches_nothing() -> None:
    page = (await rendered(ReportFormat.HTML)).content.decode()
    assert page.startswith("<!DOCTYPE html>")
    for shown in ("6380/tcp", "https nginx 1.24.0", "RMP-SSH-002"):
        assert shown in page
    assert not re.search(r"""(?:src|href)=["'](?!#)|url\(|@import""", page)
    pdf = (await rendered(ReportFormat.PDF)).content
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "6380/tcp" in text
    assert re.search(r"port\s+opened", text)
    assert "CVE-2021-32675" in text


async def test_a_diff_csv_has_one_row_per_change_and_no_formula_cells() -> None:
    rows = list(csv.reader(io.StringIO((await rendered(ReportFormat.CSV)).content.decode())))
    assert rows[0] == [
        "section",
        "change",
        "host",
        "port",
        "protocol",
        "before",
        "after",
        "severity",
        "detail",
    ]
    assert len(rows) == 1 + 9  # one row per change: 6 of the results + 3 findings
    opened = next(r for r in rows if r[1] == "port_opened")
    assert opened[3] == "6380"
    assert opened[6] == "redis =HYPERLINK(1) 7.2.4"  # not at the cell's start: left as it is
    host_up = next(r for r in rows if r[1] == "host_up")
    assert host_up[2:4] == ["192.0.2.12", ""]


async def test_a_diff_csv_guards_a_cell_that_starts_like_a_formula() -> None:
    renderer, fake = world()
    fake.changes[NEW.scan_id] = replace(CHANGES, hosts_up=("=cmd|' /C calc'!A0",))
    out = await renderer.render(diff_report(ReportFormat.CSV, sections=("hosts",)), no_progress)
    rows = list(csv.reader(io.StringIO(out.content.decode())))
    assert rows[1][2] == "'=cmd|' /C calc'!A0"


async def test_a_diff_sarif_is_schema_valid_with_the_baseline_state_of_each_finding() -> None:
    if not SCHEMA_PATH.exists():
        pytest.fail(f"the SARIF 2.1.0 schema is read from {SCHEMA_PATH} (shared/ beside the repository)")
    schema = json.loads(SCHEMA_PATH.read_text())
    log = json.loads((await rendered(ReportFormat.SARIF)).content)
    jsonschema.validators.validator_for(schema)(schema).validate(log)
    (run,) = log["runs"]
    states = {
        r["ruleId"]: (r["baselineState"], r["properties"].get("reopened", False)) for r in run["results"]
    }
    assert states == {
        "CVE-2021-32675": ("new", False),
        "RMP-SSH-002": ("new", True),
        "RMP-TLS-003": ("absent", False),
    }
    assert run["properties"]["baselineScanId"] == OLD.scan_id


async def test_sections_cut_the_report_and_findings_missing_leave_the_rest() -> None:
    only_ports = json.loads((await rendered(ReportFormat.JSON, sections=("ports",))).content)
    assert list(only_ports["changes"]) == ["ports"]
    assert only_ports["summary"] is None
    down = await rendered(ReportFormat.JSON, findings_down=True)
    by_name = {s.name: s for s in down.sections}
    assert not by_name["findings"].included
    assert "threat-service did not answer" in by_name["findings"].note
    body = json.loads(down.content)
    assert body["summary"]["findings_new"] is None
    assert body["summary"]["ports_opened"] == 1
    assert body["changes"]["findings"] == []


async def test_a_diff_of_scans_that_cannot_be_compared_fails_the_report_for_good() -> None:
    renderer, fake = world()
    fake.add(LIVE, scan("scan_running", 0.5, NOW, status="running"))
    with pytest.raises(ReportFailed, match="cannot be compared"):
        await renderer.render(diff_report(ReportFormat.JSON, "scan_running", OLD.scan_id), no_progress)
    with pytest.raises(ReportFailed):  # a test key never reads a live scan
        await renderer.render(
            diff_report(ReportFormat.JSON, tenant=Tenant("org_a", "user_a", True)), no_progress
        )


def service(fake: FakeScans) -> tuple[ReportService, MemoryQueue, MemoryReports]:
    reports, queue = MemoryReports(), MemoryQueue()
    made = ReportService(reports, MemoryFiles(), queue, Retention({}), Clock(), picker=ScanPicker(fake, fake))
    return made, queue, reports


async def test_a_diff_report_of_one_scan_records_the_previous_scan_of_its_targets() -> None:
    _, fake = world()
    reports, queue, _ = service(fake)
    made = await reports.create(
        ALICE, ReportRequest(ReportType.DIFF, ReportFormat.PDF, (NEW.scan_id,)), "free"
    )
    assert made.request.scan_ids == (NEW.scan_id, OLD.scan_id)
    assert queue.jobs


async def test_a_diff_report_is_refused_when_asked_for_scans_that_cannot_be_compared() -> None:
    _, fake = world()
    fake.add(LIVE, scan("scan_running", 0.5, NOW, status="running"))
    fake.add(LIVE, scan("scan_alone", 0.5, NOW, targets=("203.0.113.9",)))
    reports, queue, _ = service(fake)
    asks = [
        (("scan_running", OLD.scan_id), ScanNotFinished),
        (("scan_alone",), NoScanToCompare),
        (("scan_of_bob", OLD.scan_id), ScanNotFound),
    ]
    for scans, refusal in asks:
        with pytest.raises(refusal):
            await reports.create(ALICE, ReportRequest(ReportType.DIFF, ReportFormat.JSON, scans), "free")
    with pytest.raises(ScanNotFound):  # a test key: the live scans are not there
        await reports.create(
            Tenant("org_a", "user_a", True),
            ReportRequest(ReportType.DIFF, ReportFormat.JSON, (NEW.scan_id,)),
            "free",
        )
    with pytest.raises(InvalidArgument) as raised:
        await reports.create(
            ALICE, ReportRequest(ReportType.DIFF, ReportFormat.JSON, ("a", "b", "c")), "free"
        )
    assert raised.value.details["field"] == "scan_ids"
    assert queue.jobs == []


def test_diff_counts_say_when_nothing_changed() -> None:
    quiet = Diff(ResultsDiff(NEW, OLD), findings_diff(FINDINGS, FINDINGS))
    assert not quiet.changed
    assert Diff(ResultsDiff(NEW, OLD), None).counts()["findings_new"] is None


SAMPLES = Path(__file__).resolve().parents[2] / "docs" / "samples"


async def test_the_committed_diff_samples_are_what_the_samples_command_writes() -> None:
    from rampart_report.reports.samples import NAME, rendered_samples

    rendered = await rendered_samples()
    assert rendered[f"{NAME}.pdf"].startswith(b"%PDF")
    for fmt in ("json", "csv", "sarif", "html"):
        name = f"{NAME}.{fmt}"
        assert (SAMPLES / name).read_bytes() == rendered[name], (
            "run: uv run python -m rampart_report.reports.samples docs/samples/"
        )
