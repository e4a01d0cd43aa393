"""report-service's report RPCs in memory: reports per organisation and key mode, files as bytes."""

from __future__ import annotations

import hashlib
import itertools

import grpc

from gateway.tests.stub_services import Call, StubService, rpc_error
from rampart.common.v1 import common_pb2
from rampart.report.v1 import report_pb2


def _tenant(owner: common_pb2.Owner) -> tuple[str, bool]:
    return owner.org_id, owner.mode == common_pb2.KEY_MODE_TEST


class StubReports(StubService):
    """Another organisation's report (or the other key mode's) is not found, like the real one."""

    def __init__(self) -> None:
        super().__init__()
        self.reports: dict[str, report_pb2.Report] = {}
        self.files: dict[str, bytes] = {}
        self._report_ids = itertools.count(1)

    def add_ready(self, report_id: str, owner: common_pb2.Owner, content: bytes, filename: str) -> None:
        """A generated report with ``content`` as its file (a PDF unless the name says otherwise)."""
        kind = "application/pdf" if filename.endswith(".pdf") else "text/html; charset=utf-8"
        self.reports[report_id] = report_pb2.Report(
            report_id=report_id,
            owner=owner,
            title="Technical report",
            report_type=report_pb2.REPORT_TYPE_TECHNICAL,
            scan_ids=["scan_0001"],
            format=report_pb2.FORMAT_PDF if filename.endswith(".pdf") else report_pb2.FORMAT_HTML,
            status=report_pb2.REPORT_STATUS_READY,
            size_bytes=len(content),
            sha256=hashlib.sha256(content).hexdigest(),
            filename=filename,
            content_type=kind,
            progress=100,
        )
        self.files[report_id] = content

    def _own_report(self, owner: common_pb2.Owner, report_id: str) -> report_pb2.Report:
        found = self.reports.get(report_id)
        if found is None or _tenant(found.owner) != _tenant(owner):
            raise rpc_error(grpc.StatusCode.NOT_FOUND, "report not found", "REPORT_NOT_FOUND")
        return found

    def CreateReport(self, request: report_pb2.CreateReportRequest, timeout: float) -> Call:
        def create() -> report_pb2.Report:
            report = report_pb2.Report(
                report_id=f"rep_new{next(self._report_ids):04d}",
                owner=request.owner,
                title=request.title or "Report",
                report_type=request.report_type,
                scan_ids=request.scan_ids,
                format=request.format,
                status=report_pb2.REPORT_STATUS_PENDING,
                sandbox=request.owner.mode == common_pb2.KEY_MODE_TEST,
                sections=[
                    report_pb2.ReportSection(name=n, status="pending") for n in request.include_sections
                ],
            )
            if request.HasField("scope"):
                report.scope.CopyFrom(request.scope)
            self.reports[report.report_id] = report
            return report

        return self._call("CreateReport", request, create)

    def ListReports(self, request: report_pb2.ListReportsRequest, timeout: float) -> Call:
        def answer() -> report_pb2.ListReportsResponse:
            mine = [
                r
                for r in self.reports.values()
                if _tenant(r.owner) == _tenant(request.owner)
                and (not request.report_type or r.report_type == request.report_type)
                and (not request.status or r.status == request.status)
            ]
            return report_pb2.ListReportsResponse(reports=mine)

        return self._call("ListReports", request, answer)

    def GetReport(self, request: report_pb2.GetReportRequest, timeout: float) -> Call:
        return self._call("GetReport", request, lambda: self._own_report(request.owner, request.report_id))

    def DownloadReport(self, request: report_pb2.DownloadReportRequest, timeout: float) -> Call:
        def answer() -> report_pb2.ReportFile:
            report = self._own_report(request.owner, request.report_id)
            whole = self.files[request.report_id]
            end = request.offset + request.length if request.length else len(whole)
            return report_pb2.ReportFile(
                filename=report.filename,
                content_type=report.content_type,
                size=len(whole),
                sha256=report.sha256,
                offset=request.offset,
                content=whole[request.offset : end],
            )

        return self._call("DownloadReport", request, answer)

    def DeleteReport(self, request: report_pb2.DeleteReportRequest, timeout: float) -> Call:
        def answer() -> report_pb2.DeleteReportResponse:
            self._own_report(request.owner, request.report_id)
            del self.reports[request.report_id]
            self.files.pop(request.report_id, None)
            return report_pb2.DeleteReportResponse()

        return self._call("DeleteReport", request, answer)
