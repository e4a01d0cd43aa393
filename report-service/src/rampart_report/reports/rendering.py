"""Reports rendered from the exports' data and renderers (``rampart_report.exports``).

Technical and remediation reports are the exports' formats over the report's scans, shaped by
the sections asked for; executive reports are their own short document (executive.html.j2, and a
PDF of it), with the sections written by ``narrative.executive_sections``.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from functools import cache
from typing import Any, Protocol

from jinja2 import Environment, PackageLoader, select_autoescape
from weasyprint import HTML

from rampart_report.exports.errors import ScanNotFound
from rampart_report.exports.model import SEVERITIES, CsvKind, ExportFormat, FindingEntry, ScanExport, ScanInfo
from rampart_report.exports.ports import Requester
from rampart_report.exports.service import CONTENT_TYPES, render
from rampart_report.reports.compliance import (
    PostureSource,
    compliance_document,
    compliance_json,
    compliance_sections,
    posture_of,
)
from rampart_report.reports.diff import Diff
from rampart_report.reports.diffing import DiffGathering
from rampart_report.reports.diffreport import (
    diff_csv,
    diff_json,
    diff_page_context,
    diff_sarif,
    diff_sections,
)
from rampart_report.reports.model import RenderedReport, Report, ReportFailed, ReportType, Section
from rampart_report.reports.narrative import Narrator, Written, executive_sections
from rampart_report.reports.ports import DiffSource, Progress
from rampart_report.reports.scope import matches
from rampart_report.reports.summary import Digest, Issue, risk_level

NOT_INCLUDED = "not included in this report (include_sections)"


class ScanData(Protocol):
    """A scan with its ports, findings and history (``exports.service.ExportService.gather``)."""

    async def gather(self, requester: Requester, scan_id: str, with_history: bool) -> ScanExport: ...


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "report"


def combined(report: Report, exports: Sequence[ScanExport]) -> ScanExport:
    """One export of several scans: their ports and findings side by side (a trend needs one scan)."""
    if len(exports) == 1:
        return exports[0]
    finished = [e.scan.completed_at for e in exports if e.scan.completed_at]
    started = [e.scan.created_at for e in exports if e.scan.created_at]
    scan = ScanInfo(
        scan_id=report.report_id,
        targets=tuple(sorted({t for e in exports for t in e.scan.targets})),
        status="completed" if all(e.scan.status == "completed" for e in exports) else "mixed",
        profile=",".join(sorted({e.scan.profile for e in exports if e.scan.profile})),
        created_at=min(started) if started else None,
        completed_at=max(finished) if finished else None,
        sandbox=report.tenant.sandbox,
    )
    known = [e.findings for e in exports if e.findings is not None]
    findings = tuple(f for found in known for f in found) if known else None
    notes = "; ".join(e.findings_note for e in exports if e.findings_note)
    ports = tuple(p for e in exports for p in e.ports)
    return ScanExport(scan, ports, findings, (), exports[0].generated_at, notes)


def on_hosts(data: ScanExport, hosts: Sequence[str]) -> ScanExport:
    """Only the ports and findings on ``hosts`` (a report over assets: a /24 scan shows the assets')."""
    if not hosts:
        return data
    findings = None if data.findings is None else tuple(f for f in data.findings if matches(f.host, hosts))
    return replace(data, ports=tuple(p for p in data.ports if matches(p.host, hosts)), findings=findings)


def shaped(report: Report, data: ScanExport) -> tuple[ScanExport, tuple[Section, ...]]:
    """The export cut to the sections asked for, and what became of each section."""
    wanted = set(report.request.sections)
    missing = data.findings is None
    findings_note = data.findings_note or "findings could not be read"
    if report.request.report_type is ReportType.REMEDIATION:
        findings = data.findings
        if findings is not None and "remediation" not in wanted:
            findings = tuple(replace(f, remediation="") for f in findings)
        data = replace(data, ports=(), history=(), findings=findings)
    else:
        data = replace(
            data,
            ports=data.ports if "ports" in wanted else (),
            history=data.history if "trend" in wanted else (),
            findings=data.findings if "findings" in wanted else None,
            findings_note=data.findings_note if "findings" in wanted else NOT_INCLUDED,
        )
    sections = []
    for name in report.request.sections:
        if name in ("findings", "remediation") and missing:
            sections.append(Section(name, False, f"section unavailable: {findings_note}"))
        elif name == "trend" and len(report.request.scan_ids) > 1:
            sections.append(Section(name, False, "a trend is drawn for a report of one scan"))
        else:
            sections.append(Section(name, True, "", "scan"))
    return data, tuple(sections)


def _merged_sarif(files: Sequence[bytes]) -> bytes:
    logs = [json.loads(content) for content in files]
    merged = {**logs[0], "runs": [run for log in logs for run in log["runs"]]}
    return json.dumps(merged, indent=2).encode()


def digest(exports: Sequence[ScanExport]) -> Digest:
    ports = [p for e in exports for p in e.ports if p.state == "open"]
    if any(e.findings is None for e in exports):
        return Digest(len(exports), len({p.host for p in ports}), len(ports), None)
    findings: list[FindingEntry] = [f for e in exports for f in e.findings or ()]
    counts = Counter(f.severity for f in findings)
    worst: dict[str, FindingEntry] = {}
    for finding in sorted(findings, key=lambda f: (SEVERITIES.index(f.severity), f.subject)):
        worst.setdefault(finding.subject, finding)
    by_subject = Counter(f.subject for f in findings)
    issues = tuple(
        Issue(subject, f.title, f.severity, by_subject[subject], f.remediation, f.kev)
        for subject, f in worst.items()
    )
    hosts = {p.host for p in ports} | {f.host for f in findings}
    return Digest(len(exports), len(hosts), len(ports), {s: counts.get(s, 0) for s in SEVERITIES}, issues)


@cache
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("rampart_report.reports", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _no_fetch(url: str) -> dict[str, object]:
    raise ValueError(f"reports fetch nothing: {url}")


async def _pdf(page: str) -> bytes:
    """The page laid out by WeasyPrint, off the event loop; nothing is ever fetched."""
    document = HTML(string=page, url_fetcher=_no_fetch)
    pdf: bytes = await asyncio.to_thread(document.write_pdf)
    return pdf


def executive_html(report: Report, facts: Digest, written: Sequence[Written], at: datetime) -> str:
    return (
        _environment()
        .get_template("executive.html.j2")
        .render(
            report=report,
            digest=facts,
            risk=risk_level(facts),
            severities=SEVERITIES,
            sections=written,
            generated_at=at.strftime("%Y-%m-%d %H:%M UTC"),
        )
    )


def executive_json(report: Report, facts: Digest, written: Sequence[Written], at: datetime) -> bytes:
    body: dict[str, Any] = {
        "report_id": report.report_id,
        "title": report.request.title,
        "type": report.request.report_type.value,
        "scan_ids": list(report.request.scan_ids),
        "generated_at": at.isoformat().replace("+00:00", "Z"),
        "scans": facts.scans,
        "hosts": facts.hosts,
        "open_ports": facts.open_ports,
        "severities": facts.severities,
        "risk": risk_level(facts) if facts.severities is not None else None,
        "sections": [
            {
                "name": w.section.name,
                "title": w.title,
                "included": w.section.included,
                "source": w.section.source,
                "note": w.section.note,
                "body": w.body,
            }
            for w in written
        ],
    }
    return json.dumps(body, indent=2).encode()


async def render_diff(report: Report, diff: Diff, at: datetime) -> bytes:
    """A diff report's file in the report's format."""
    fmt = report.request.format.value
    if fmt == "json":
        return diff_json(report, diff, at)
    if fmt == "csv":
        return diff_csv(report, diff)
    if fmt == "sarif":
        return diff_sarif(diff)
    page = _environment().get_template("diff.html.j2").render(**diff_page_context(report, diff, at))
    return page.encode() if fmt == "html" else await _pdf(page)


class ReportRenderer:
    """``Renderer`` over the exports: gathers each scan with the requester's owner, then renders."""

    def __init__(
        self,
        scans: ScanData,
        narrator: Narrator,
        narrative_wait: float,
        compliance: PostureSource | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        diffs: DiffSource | None = None,
    ) -> None:
        self._diffs = diffs
        self._scans = scans
        self._narrator = narrator
        self._wait = narrative_wait
        self._compliance = compliance
        self._clock = clock

    async def _gather(self, report: Report, progress: Progress) -> list[ScanExport]:
        tenant = report.tenant
        requester = Requester(tenant.org_id, tenant.user_id, live=not tenant.sandbox)
        with_history = "trend" in report.request.sections and len(report.request.scan_ids) == 1
        gathered = []
        for n, scan_id in enumerate(report.request.scan_ids, 1):
            try:
                data = await self._scans.gather(requester, scan_id, with_history)
            except ScanNotFound as error:
                raise ReportFailed(f"scan {scan_id} not found") from error
            if data.scan.sandbox != tenant.sandbox:  # scan-service keeps the worlds apart; so do we
                raise ReportFailed(f"scan {scan_id} not found")
            scope = report.request.scope
            gathered.append(on_hosts(data, scope.hosts) if scope is not None else data)
            await progress("gathering", 10 + 50 * n // len(report.request.scan_ids))
        return gathered

    async def render(self, report: Report, progress: Progress) -> RenderedReport:
        name = f"{_slug(report.request.title)}-{report.report_id}.{report.request.format.value}"
        fmt = ExportFormat(report.request.format.value)
        if report.request.report_type is ReportType.COMPLIANCE:
            return await self._compliance_report(report, fmt, name, progress)
        if report.request.report_type is ReportType.DIFF:
            return await self._diff_report(report, fmt, name, progress)
        exports = await self._gather(report, progress)
        if report.request.report_type is ReportType.EXECUTIVE:
            return await self._executive(report, exports, fmt, name, progress)
        data, sections = shaped(report, combined(report, exports))
        await progress("rendering", 70)
        kind = CsvKind.FINDINGS if report.request.report_type is ReportType.REMEDIATION else CsvKind.PORTS
        if fmt is ExportFormat.SARIF and len(exports) > 1:
            parts = [shaped(report, e)[0] for e in exports]
            files = await asyncio.gather(*(asyncio.to_thread(render, p, fmt) for p in parts))
            content = _merged_sarif([f.content for f in files])
        else:
            content = (await asyncio.to_thread(render, data, fmt, kind)).content
        return RenderedReport(name, CONTENT_TYPES[fmt], content, sections)

    async def _compliance_report(
        self, report: Report, fmt: ExportFormat, name: str, progress: Progress
    ) -> RenderedReport:
        if self._compliance is None:
            raise ReportFailed("compliance is not assembled in this report-service")
        posture = await posture_of(self._compliance, report)
        await progress("rendering", 70)
        at = self._clock()
        document = compliance_document(report, posture, at)
        if fmt is ExportFormat.JSON:
            content = compliance_json(document)
        else:
            page = (
                _environment()
                .get_template("compliance.html.j2")
                .render(
                    doc=document,
                    sections=report.request.sections,
                    sandbox=report.tenant.sandbox,
                    generated_at=at.strftime("%Y-%m-%d %H:%M UTC"),
                )
            )
            content = page.encode() if fmt is ExportFormat.HTML else await _pdf(page)
        return RenderedReport(name, CONTENT_TYPES[fmt], content, compliance_sections(report))

    async def _executive(
        self, report: Report, exports: list[ScanExport], fmt: ExportFormat, name: str, progress: Progress
    ) -> RenderedReport:
        facts = digest(exports)
        await progress("narrative", 65)
        written = await executive_sections(
            self._narrator, report.tenant, report.request.scan_ids, report.request.sections, facts, self._wait
        )
        await progress("rendering", 80)
        at = self._clock()
        if fmt is ExportFormat.JSON:
            content = executive_json(report, facts, written, at)
        else:
            page = executive_html(report, facts, written, at)
            content = page.encode() if fmt is ExportFormat.HTML else await _pdf(page)
        return RenderedReport(name, CONTENT_TYPES[fmt], content, tuple(w.section for w in written))

    async def _diff_report(
        self, report: Report, fmt: ExportFormat, name: str, progress: Progress
    ) -> RenderedReport:
        if self._diffs is None:
            raise ReportFailed("diffs are not assembled in this report-service")
        await progress("gathering", 30)
        diff = await DiffGathering(self._diffs, self._scans).diff_of(report)
        await progress("rendering", 70)
        content = await render_diff(report, diff, self._clock())
        return RenderedReport(name, CONTENT_TYPES[fmt], content, diff_sections(report, diff))
