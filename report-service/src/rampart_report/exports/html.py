"""HTML: one self-contained, printable page (inline CSS and SVG, nothing fetched), rendered by
Jinja2 with autoescaping on, so a banner or evidence string is text and never markup."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from functools import cache

from jinja2 import Environment, PackageLoader, select_autoescape

from rampart_report.exports.charts import SEVERITY_COLOURS, charts, vulnerability_charts
from rampart_report.exports.model import SEVERITIES, FindingEntry, ScanExport, VulnerabilitySet


@cache
def environment() -> Environment:
    return Environment(
        loader=PackageLoader("rampart_report.exports", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _order(finding: FindingEntry) -> tuple[int, str, int, str]:
    return (SEVERITIES.index(finding.severity), finding.host, finding.port, finding.subject)


@dataclass(frozen=True)
class Issue:
    """A rule or CVE with how many findings it has in the export."""

    first: FindingEntry
    count: int


def issues(findings: list[FindingEntry]) -> list[Issue]:
    """One entry per rule id or CVE, most severe first (the findings are already in that order)."""
    counts = Counter(finding.subject for finding in findings)
    firsts: dict[str, FindingEntry] = {}
    for finding in findings:
        firsts.setdefault(finding.subject, finding)
    return [Issue(first, counts[subject]) for subject, first in firsts.items()]


def render_html(data: ScanExport, for_print: bool = False) -> str:
    findings = sorted(data.findings or (), key=_order)
    counts = Counter(finding.severity for finding in findings)
    open_ports = [port for port in data.ports if port.state == "open"]
    return (
        environment()
        .get_template("scan.html.j2")
        .render(
            data=data,
            scan=data.scan,
            findings=findings,
            issues=issues(findings),
            counts=[(severity, counts[severity]) for severity in SEVERITIES],
            colours=SEVERITY_COLOURS,
            open_ports=open_ports,
            hosts=sorted({port.host for port in data.ports}),
            charts=charts(data),
            for_print=for_print,
        )
    )


def render_vulnerabilities_html(data: VulnerabilitySet, for_print: bool = False) -> str:
    """The records in the order asked; the issues section most severe first."""
    findings = list(data.findings)
    counts = Counter(finding.severity for finding in findings)
    return (
        environment()
        .get_template("vulnerabilities.html.j2")
        .render(
            data=data,
            findings=findings,
            issues=issues(sorted(findings, key=_order)),
            counts=[(severity, counts[severity]) for severity in SEVERITIES],
            colours=SEVERITY_COLOURS,
            hosts=sorted({finding.host for finding in findings}),
            charts=vulnerability_charts(findings),
            for_print=for_print,
        )
    )
