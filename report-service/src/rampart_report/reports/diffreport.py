"""A diff report's file: JSON (the changes as data), CSV (a row per change), SARIF (the new,
reopened and resolved findings with their ``baselineState``), HTML (diff.html.j2) and its PDF."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rampart_report.exports.csvfile import csv_cell
from rampart_report.exports.model import FindingEntry, ScanExport, ScanInfo
from rampart_report.exports.sarif import FINGERPRINT_KEY, sarif_log
from rampart_report.reports.diff import Certificate, Diff
from rampart_report.reports.model import Report, Section

CSV_COLUMNS = ("section", "change", "host", "port", "protocol", "before", "after", "severity", "detail")
TITLES = {
    "summary": "Summary",
    "hosts": "Hosts up and down",
    "ports": "Ports opened and closed",
    "services": "Services and versions changed",
    "certificates": "Certificates changed and expiring",
    "findings": "Findings new, reopened and resolved",
}


@dataclass(frozen=True)
class Change:
    """One line of the diff as the CSV and the HTML tables show it."""

    section: str
    change: str
    host: str
    port: int | None = None
    protocol: str = ""
    before: str = ""
    after: str = ""
    severity: str = ""
    detail: str = ""


def _cert(certificate: Certificate | None) -> str:
    return certificate.label if certificate is not None else "none"


def _finding(change: str, finding: FindingEntry) -> Change:
    return Change(
        "findings",
        change,
        finding.host,
        finding.port,
        finding.protocol,
        severity=finding.severity,
        detail=f"{finding.subject}: {finding.title}",
    )


def changes(diff: Diff, sections: Sequence[str]) -> list[Change]:
    """The changes of the sections asked for, in the sections' order."""
    r, rows = diff.results, []
    if "hosts" in sections:
        rows += [Change("hosts", "host_up", h) for h in r.hosts_up]
        rows += [Change("hosts", "host_down", h) for h in r.hosts_down]
    if "ports" in sections:
        rows += [
            Change("ports", "port_opened", c.host, c.port, c.protocol, after=c.service.label)
            for c in r.ports_opened
        ]
        rows += [
            Change("ports", "port_closed", c.host, c.port, c.protocol, before=c.service.label)
            for c in r.ports_closed
        ]
    if "services" in sections:
        rows += [
            Change("services", "service_changed", c.host, c.port, c.protocol, c.before.label, c.after.label)
            for c in r.services_changed
        ]
    if "certificates" in sections:
        rows += [
            Change(
                "certificates",
                "certificate_changed",
                c.host,
                c.port,
                c.protocol,
                _cert(c.before),
                _cert(c.after),
            )
            for c in r.certificates_changed
        ]
        rows += [
            Change(
                "certificates",
                "certificate_expiring",
                c.host,
                c.port,
                c.protocol,
                after=c.certificate.label,
                detail=f"expired {-c.days_left} days ago" if c.days_left < 0 else f"{c.days_left} days left",
            )
            for c in r.certificates_expiring
        ]
    if "findings" in sections and diff.findings is not None:
        rows += [_finding("finding_new", f) for f in diff.findings.new]
        rows += [_finding("finding_reopened", f) for f in diff.findings.reopened]
        rows += [_finding("finding_resolved", f) for f in diff.findings.resolved]
    return rows


def diff_sections(report: Report, diff: Diff) -> tuple[Section, ...]:
    out = []
    for name in report.request.sections:
        if name == "findings" and diff.findings is None:
            out.append(
                Section(
                    name, False, f"section unavailable: {diff.findings_note or 'findings could not be read'}"
                )
            )
        else:
            out.append(Section(name, True, "", "scan" if name != "findings" else "findings"))
    return tuple(out)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def _scan(scan: ScanInfo) -> dict[str, Any]:
    return {
        "scan_id": scan.scan_id,
        "targets": list(scan.targets),
        "status": scan.status,
        "created_at": _iso(scan.created_at),
        "completed_at": _iso(scan.completed_at),
    }


def diff_json(report: Report, diff: Diff, at: datetime) -> bytes:
    sections = report.request.sections
    body: dict[str, Any] = {
        "report_id": report.report_id,
        "title": report.request.title,
        "type": "diff",
        "generated_at": _iso(at),
        "sandbox": report.tenant.sandbox,
        "scan": _scan(diff.results.scan),
        "against": _scan(diff.results.against),
        "summary": diff.counts() if "summary" in sections else None,
        "changed": diff.changed,
        "changes": {
            name: [{k: v for k, v in vars(c).items() if k != "section"} for c in changes(diff, (name,))]
            for name in sections
            if name != "summary"
        },
        "sections": [
            {"name": s.name, "included": s.included, "note": s.note} for s in diff_sections(report, diff)
        ],
    }
    if report.request.scope is not None:
        scope = report.request.scope
        body["scope"] = {
            "assets": list(scope.assets),
            "from": _iso(scope.period_from),
            "to": _iso(scope.period_to),
        }
    return json.dumps(body, indent=2, ensure_ascii=False).encode()


def diff_csv(report: Report, diff: Diff) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for c in changes(diff, report.request.sections):
        row = (
            c.section,
            c.change,
            c.host,
            "" if c.port is None else c.port,
            c.protocol,
            c.before,
            c.after,
            c.severity,
            c.detail,
        )
        writer.writerow([csv_cell(value) for value in row])
    return out.getvalue().encode()


def diff_sarif(diff: Diff) -> bytes:
    """One run of the newer scan whose results are the findings that changed: ``baselineState``
    ``new`` (reopened ones too, with ``properties.reopened``) or ``absent`` (resolved), the older
    scan being the baseline (SARIF 2.1.0 §3.27.24)."""
    found = diff.findings
    states: dict[str, str] = {}
    findings: list[FindingEntry] = []
    if found is not None:
        for kind, group in (("new", found.new), ("reopened", found.reopened), ("absent", found.resolved)):
            for finding in group:
                states[finding.fingerprint] = kind
                findings.append(finding)
    note = "" if found is not None else diff.findings_note or "findings unavailable"
    log = sarif_log(
        ScanExport(diff.results.scan, (), tuple(findings) if found is not None else None, findings_note=note)
    )
    run = log["runs"][0]
    for result in run["results"]:
        state = states[result["partialFingerprints"][FINGERPRINT_KEY]]
        result["baselineState"] = "new" if state == "reopened" else state
        if state == "reopened":
            result["properties"]["reopened"] = True
    run["properties"]["baselineScanId"] = diff.results.against.scan_id
    return json.dumps(log, indent=2, ensure_ascii=False).encode()


def diff_page_context(report: Report, diff: Diff, at: datetime) -> dict[str, Any]:
    sections = report.request.sections
    rows = changes(diff, sections)
    return {
        "report": report,
        "scan": diff.results.scan,
        "against": diff.results.against,
        "counts": diff.counts() if "summary" in sections else None,
        "changed": diff.changed,
        "blocks": [
            (section, TITLES[section.name], [c for c in rows if c.section == section.name])
            for section in diff_sections(report, diff)
            if section.name != "summary"
        ],
        "generated_at": at.strftime("%Y-%m-%d %H:%M UTC"),
    }
