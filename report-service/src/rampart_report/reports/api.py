"""The report RPCs of ReportService: decode, call the report use cases, encode."""

from __future__ import annotations

from rampart.lib.errors import InvalidArgument
from rampart.lib.grpcserver import Context
from rampart.report.v1 import report_pb2, report_pb2_grpc
from rampart_report.reports import mappers
from rampart_report.reports.service import ReportService

DEFAULT_PAGE, MAX_PAGE = 20, 100


class ReportsNotAssembled(Exception):
    """report-service was assembled without its report part (only in narrow unit tests)."""


class ReportRpcs(report_pb2_grpc.ReportServiceServicer):
    """Mixed into ReportServicer."""

    _reports: ReportService | None = None

    def _report_service(self) -> ReportService:
        if self._reports is None:
            raise ReportsNotAssembled("reports are not assembled in this report-service")
        return self._reports

    async def CreateReport(
        self, request: report_pb2.CreateReportRequest, context: Context
    ) -> report_pb2.Report:
        report = await self._report_service().create(
            mappers.tenant(request.owner), mappers.request(request), request.plan, request.request_id
        )
        return mappers.report_message(report)

    async def ListReports(
        self, request: report_pb2.ListReportsRequest, context: Context
    ) -> report_pb2.ListReportsResponse:
        if request.page_token and not request.page_token.isdigit():
            raise InvalidArgument("page_token is not one this service issued", field="page_token")
        offset = int(request.page_token or 0)
        limit = min(request.page_size, MAX_PAGE) if request.page_size > 0 else DEFAULT_PAGE
        found = await self._report_service().page(
            mappers.tenant(request.owner), mappers.filters(request), offset, limit
        )
        return report_pb2.ListReportsResponse(
            reports=[mappers.report_message(report) for report in found],
            next_page_token=str(offset + limit) if len(found) == limit else "",
        )

    async def GetReport(self, request: report_pb2.GetReportRequest, context: Context) -> report_pb2.Report:
        report = await self._report_service().get(mappers.tenant(request.owner), request.report_id)
        return mappers.report_message(report)

    async def DownloadReport(
        self, request: report_pb2.DownloadReportRequest, context: Context
    ) -> report_pb2.ReportFile:
        if request.offset < 0 or request.length < 0:
            raise InvalidArgument("offset and length are not negative", field="offset")
        chunk = await self._report_service().read(
            mappers.tenant(request.owner), request.report_id, request.offset, request.length
        )
        return report_pb2.ReportFile(
            filename=chunk.file.filename,
            content_type=chunk.file.content_type,
            size=chunk.file.size,
            sha256=chunk.file.sha256,
            offset=chunk.offset,
            content=chunk.content,
        )

    async def DeleteReport(
        self, request: report_pb2.DeleteReportRequest, context: Context
    ) -> report_pb2.DeleteReportResponse:
        await self._report_service().delete(mappers.tenant(request.owner), request.report_id)
        return report_pb2.DeleteReportResponse()
