"""Gathering a diff report's data: scan-service's comparison of the pair the report recorded, and
both scans' findings compared by fingerprint (threat-service, through the exports' sources)."""

from __future__ import annotations

from typing import Protocol

from rampart_report.exports.errors import ScanNotFound
from rampart_report.exports.model import ScanExport
from rampart_report.exports.ports import Requester
from rampart_report.reports.diff import Diff, FindingsDiff, findings_diff, within
from rampart_report.reports.model import NoScanToCompare, Report, ReportFailed, ScanNotFinished
from rampart_report.reports.ports import DiffSource


class Findings(Protocol):
    """A scan with its findings (``exports.service.ExportService.gather``)."""

    async def gather(self, requester: Requester, scan_id: str, with_history: bool) -> ScanExport: ...


class DiffGathering:
    def __init__(self, diffs: DiffSource, scans: Findings) -> None:
        self._diffs = diffs
        self._scans = scans

    async def diff_of(self, report: Report) -> Diff:
        """The changes between the report's two scans, on its assets' hosts when it has a scope.
        Raises ReportFailed when the scans cannot be compared any more (one was deleted)."""
        tenant = report.tenant
        requester = Requester(tenant.org_id, tenant.user_id, live=not tenant.sandbox)
        newer, older = report.request.scan_ids[0], report.request.scan_ids[-1]
        try:
            results = await self._diffs.diff(requester, newer, older if older != newer else "")
        except (ScanNotFound, ScanNotFinished, NoScanToCompare) as error:
            raise ReportFailed(f"the scans cannot be compared: {error}") from error
        if results.scan.sandbox != tenant.sandbox or results.against.sandbox != tenant.sandbox:
            raise ReportFailed(f"scan {newer} not found")  # scan-service keeps the worlds apart; so do we
        findings, note = await self._findings(requester, results.against.scan_id, results.scan.scan_id)
        scope = report.request.scope
        return within(Diff(results, findings, note), scope.hosts if scope is not None else ())

    async def _findings(
        self, requester: Requester, older: str, newer: str
    ) -> tuple[FindingsDiff | None, str]:
        sides = []
        for scan_id in (older, newer):
            try:
                sides.append(await self._scans.gather(requester, scan_id, False))
            except ScanNotFound as error:
                raise ReportFailed(f"scan {scan_id} not found") from error
        before, after = sides[0].findings, sides[1].findings
        if before is None or after is None:
            return None, sides[0].findings_note or sides[1].findings_note
        return findings_diff(before, after), ""
