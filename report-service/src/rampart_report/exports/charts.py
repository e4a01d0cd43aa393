"""Inline SVG charts for the HTML (and so the PDF) export: no script, no external resource."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from markupsafe import Markup

from rampart_report.exports.model import SEVERITIES, FindingEntry, HistoryPoint, ScanExport

SEVERITY_COLOURS = {
    "critical": "#7b1fa2",
    "high": "#c62828",
    "medium": "#ef6c00",
    "low": "#f9a825",
    "info": "#546e7a",
}
BAR_COLOUR = "#1565c0"
TOP = 10  # bars shown in the per-host and per-service charts


def bar_chart(title: str, rows: Sequence[tuple[str, int, str]]) -> Markup:
    """Horizontal bars, one per (label, value, colour); labels are escaped."""
    if not rows:
        return Markup('<p class="empty">{} : nothing to show.</p>').format(title)
    label_width, bar_width, row_height = 170, 300, 22
    top = max(value for _, value, _ in rows) or 1
    height = row_height * len(rows) + 8
    parts = [
        Markup(
            '<svg xmlns="http://www.w3.org/2000/svg" role="img" class="chart" '
            'width="{w}" height="{h}" viewBox="0 0 {w} {h}"><title>{t}</title>'
        ).format(w=label_width + bar_width + 60, h=height, t=title)
    ]
    for index, (label, value, colour) in enumerate(rows):
        y = 4 + index * row_height
        length = round(bar_width * value / top)
        parts.append(
            Markup(
                '<text x="{lx}" y="{ty}" text-anchor="end" font-size="12">{label}</text>'
                '<rect x="{bx}" y="{y}" width="{length}" height="16" fill="{colour}"/>'
                '<text x="{vx}" y="{ty}" font-size="12">{value}</text>'
            ).format(
                lx=label_width - 6,
                ty=y + 12,
                label=label[:28],
                bx=label_width,
                y=y,
                length=length,
                colour=colour,
                vx=label_width + length + 4,
                value=value,
            )
        )
    parts.append(Markup("</svg>"))
    return Markup("").join(parts)


def severity_chart(findings: Sequence[FindingEntry], title: str = "Findings by severity") -> Markup:
    counts = Counter(finding.severity for finding in findings)
    rows = [(severity, counts[severity], SEVERITY_COLOURS[severity]) for severity in SEVERITIES]
    return bar_chart(title, rows if findings else [])


def host_chart(findings: Sequence[FindingEntry], title: str = "Findings by host") -> Markup:
    counts = Counter(finding.host for finding in findings)
    return bar_chart(title, [(h, n, BAR_COLOUR) for h, n in counts.most_common(TOP)])


def status_chart(findings: Sequence[FindingEntry]) -> Markup:
    counts = Counter(finding.status for finding in findings)
    return bar_chart("Records by status", [(s, n, BAR_COLOUR) for s, n in counts.most_common()])


def services_chart(data: ScanExport) -> Markup:
    counts = Counter(port.service or "unknown" for port in data.ports if port.state == "open")
    return bar_chart("Open services", [(s, n, BAR_COLOUR) for s, n in counts.most_common(TOP)])


def trend_chart(history: Sequence[HistoryPoint]) -> Markup:
    """Open ports across the recent scans of the same targets, oldest on the left."""
    if len(history) < 2:
        return Markup('<p class="empty">Trend: fewer than two completed scans of these targets.</p>')
    width, height, pad = 520, 180, 36
    top = max(point.open_ports for point in history) or 1
    step = (width - 2 * pad) / (len(history) - 1)
    points = [
        (pad + index * step, height - pad - (height - 2 * pad) * point.open_ports / top)
        for index, point in enumerate(history)
    ]
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    parts = [
        Markup(
            '<svg xmlns="http://www.w3.org/2000/svg" role="img" class="chart" width="{w}" height="{h}" '
            'viewBox="0 0 {w} {h}"><title>Open ports per scan</title>'
            '<line x1="{p}" y1="{b}" x2="{r}" y2="{b}" stroke="#999"/>'
            '<polyline points="{line}" fill="none" stroke="{c}" stroke-width="2"/>'
        ).format(w=width, h=height, p=pad, b=height - pad, r=width - pad, line=line, c=BAR_COLOUR)
    ]
    for (x, y), point in zip(points, history, strict=True):
        parts.append(
            Markup(
                '<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{c}"/>'
                '<text x="{x:.1f}" y="{ly:.1f}" font-size="11" text-anchor="middle">{n}</text>'
                '<text x="{x:.1f}" y="{dy}" font-size="10" text-anchor="middle">{d}</text>'
            ).format(
                x=x,
                y=y,
                c=BAR_COLOUR,
                ly=y - 6,
                n=point.open_ports,
                dy=height - pad + 14,
                d=point.completed_at.strftime("%m-%d"),
            )
        )
    parts.append(Markup("</svg>"))
    return Markup("").join(parts)


def charts(data: ScanExport) -> dict[str, Markup]:
    return {
        "severity": severity_chart(data.findings or ()),
        "hosts": host_chart(data.findings or ()),
        "services": services_chart(data),
        "trend": trend_chart(data.history),
    }


def vulnerability_charts(findings: Sequence[FindingEntry]) -> dict[str, Markup]:
    return {
        "severity": severity_chart(findings, "Records by severity"),
        "hosts": host_chart(findings, "Records by host"),
        "statuses": status_chart(findings),
    }
