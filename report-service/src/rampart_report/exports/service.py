"""The export use case: gather a scan's data from the other services, render it in one format."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

import structlog

from rampart_report.exports.csvfile import render_csv, render_vulnerabilities_csv
from rampart_report.exports.errors import FindingsUnavailable
from rampart_report.exports.html import render_html, render_vulnerabilities_html
from rampart_report.exports.jsonfile import render_json, render_vulnerabilities_json
from rampart_report.exports.model import (
    CsvKind,
    ExportFile,
    ExportFormat,
    FindingEntry,
    ScanExport,
    VulnerabilityFilter,
    VulnerabilitySet,
)
from rampart_report.exports.pdf import render_pdf, render_vulnerabilities_pdf
from rampart_report.exports.ports import FindingSource, Requester, ScanSource, VulnerabilitySource
from rampart_report.exports.sarif import render_sarif, render_vulnerabilities_sarif

log = structlog.get_logger(__name__)
HISTORY_SCANS = 10  # scans shown in the trend chart

# The most records one vulnerabilities export holds (EXPORT_TOO_LARGE beyond; docs/exports.md): the
# PDF's keeps its layout to seconds (2,000 records: 6.3 s of CPU, 188 MB peak), the others' keep the
# file within a few tens of MB (10,000 records: 12.5 MB of SARIF; the gateway accepts 64 MiB).
MAX_RECORDS = {
    ExportFormat.JSON: 10_000,
    ExportFormat.CSV: 10_000,
    ExportFormat.SARIF: 10_000,
    ExportFormat.HTML: 10_000,
    ExportFormat.PDF: 2_000,
}
VULNERABILITIES_FILE = "vulnerabilities"

CONTENT_TYPES = {
    ExportFormat.JSON: "application/json",
    ExportFormat.CSV: "text/csv; charset=utf-8",
    ExportFormat.SARIF: "application/sarif+json",
    ExportFormat.HTML: "text/html; charset=utf-8",
    ExportFormat.PDF: "application/pdf",
}


def render(data: ScanExport, fmt: ExportFormat, csv_kind: CsvKind = CsvKind.PORTS) -> ExportFile:
    """One scan's export in ``fmt`` (no I/O: the formats work on domain data only)."""
    scan_id = data.scan.scan_id
    if fmt is ExportFormat.JSON:
        content = render_json(data)
    elif fmt is ExportFormat.CSV:
        content = render_csv(data, csv_kind)
        scan_id = f"{scan_id}-{csv_kind.value}"
    elif fmt is ExportFormat.SARIF:
        content = render_sarif(data)
    elif fmt is ExportFormat.HTML:
        content = render_html(data).encode()
    else:
        content = render_pdf(data)
    return ExportFile(f"{scan_id}.{fmt.value}", CONTENT_TYPES[fmt], content)


def render_vulnerabilities(data: VulnerabilitySet, fmt: ExportFormat) -> ExportFile:
    """A set of vulnerability records in ``fmt`` (no I/O)."""
    if fmt is ExportFormat.JSON:
        content = render_vulnerabilities_json(data)
    elif fmt is ExportFormat.CSV:
        content = render_vulnerabilities_csv(data)
    elif fmt is ExportFormat.SARIF:
        content = render_vulnerabilities_sarif(data)
    elif fmt is ExportFormat.HTML:
        content = render_vulnerabilities_html(data).encode()
    else:
        content = render_vulnerabilities_pdf(data)
    stamp = f"-{data.generated_at:%Y%m%dT%H%M%SZ}" if data.generated_at is not None else ""
    return ExportFile(f"{VULNERABILITIES_FILE}{stamp}.{fmt.value}", CONTENT_TYPES[fmt], content)


class ExportService:
    """Exports of one scan, made on behalf of the requester (tenancy comes from the sources)."""

    def __init__(
        self,
        scans: ScanSource,
        findings: FindingSource,
        records: VulnerabilitySource | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._scans = scans
        self._findings = findings
        self._records = records
        self._clock = clock

    async def gather(self, requester: Requester, scan_id: str, with_history: bool) -> ScanExport:
        scan, ports = await self._scans.results(requester, scan_id)  # ScanNotFound first
        history = await self._scans.history(requester, scan, HISTORY_SCANS) if with_history else ()
        try:
            findings: tuple[FindingEntry, ...] | None = await self._findings.findings(requester, scan_id)
            note = ""
        except FindingsUnavailable as error:
            log.warning("export_without_findings", scan_id=scan_id, reason=str(error))
            findings, note = None, f"Findings unavailable: {error}"
        return ScanExport(scan, ports, findings, history, self._clock(), note)

    async def export(
        self, requester: Requester, scan_id: str, fmt: ExportFormat, csv_kind: CsvKind = CsvKind.PORTS
    ) -> ExportFile:
        with_history = fmt in (ExportFormat.HTML, ExportFormat.PDF)
        data = await self.gather(requester, scan_id, with_history)
        # Rendering is CPU work (a PDF of 1,000 findings takes seconds): off the event loop.
        return await asyncio.to_thread(render, data, fmt, csv_kind)

    async def export_vulnerabilities(
        self, requester: Requester, chosen: VulnerabilityFilter, fmt: ExportFormat
    ) -> ExportFile:
        """The requester's records (a test key's: test records only, by threat-service) that the
        filters choose, in the order asked; ExportTooLarge beyond the format's MAX_RECORDS."""
        if self._records is None:
            raise RuntimeError("the vulnerabilities export has no record source")
        records = await self._records.records(requester, chosen, MAX_RECORDS[fmt])
        data = VulnerabilitySet(
            records=records,
            filters=chosen.described(),
            sort=chosen.sort,
            descending=chosen.descending,
            sandbox=not requester.live,
            generated_at=self._clock(),
        )
        return await asyncio.to_thread(render_vulnerabilities, data, fmt)
