"""PDF: the HTML export laid out by WeasyPrint (cover, contents with page numbers, numbered pages)."""

from __future__ import annotations

from weasyprint import HTML

from rampart_report.exports.html import render_html, render_vulnerabilities_html
from rampart_report.exports.model import ScanExport, VulnerabilitySet


def _no_fetch(url: str) -> dict[str, object]:
    """Refuse every resource: the HTML is self-contained, so nothing should ever be asked for."""
    raise ValueError(f"exports fetch nothing: {url}")


def _pdf(html: str) -> bytes:
    pdf: bytes = HTML(string=html, url_fetcher=_no_fetch).write_pdf()
    return pdf


def render_pdf(data: ScanExport) -> bytes:
    return _pdf(render_html(data, for_print=True))


def render_vulnerabilities_pdf(data: VulnerabilitySet) -> bytes:
    return _pdf(render_vulnerabilities_html(data, for_print=True))
