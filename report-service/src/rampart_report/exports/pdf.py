"""PDF: the HTML export laid out by WeasyPrint (cover, contents with page numbers, numbered pages)."""

from __future__ import annotations

from weasyprint import HTML

from rampart_report.exports.html import render_html
from rampart_report.exports.model import ScanExport


def _no_fetch(url: str) -> dict[str, object]:
    """Refuse every resource: the HTML is self-contained, so nothing should ever be asked for."""
    raise ValueError(f"exports fetch nothing: {url}")


def render_pdf(data: ScanExport) -> bytes:
    document = HTML(string=render_html(data, for_print=True), url_fetcher=_no_fetch)
    pdf: bytes = document.write_pdf()
    return pdf
