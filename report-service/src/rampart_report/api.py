"""gRPC entry point for report-service: decode, call the service layer, encode."""

from __future__ import annotations

from rampart.lib.grpcserver import Context
from rampart.report.v1 import report_pb2, report_pb2_grpc
from rampart_report.exports import mappers as export_mappers
from rampart_report.exports.service import ExportService
from rampart_report.mappers import timeline_message
from rampart_report.service import TimelineService


class ReportServicer(report_pb2_grpc.ReportServiceServicer):
    """Scan timelines and exports; reports, compliance and webhooks answer UNIMPLEMENTED (not built)."""

    def __init__(self, timelines: TimelineService, exports: ExportService) -> None:
        self._timelines = timelines
        self._exports = exports

    async def ExportScan(
        self, request: report_pb2.ExportScanRequest, context: Context
    ) -> report_pb2.FileContent:
        file = await self._exports.export(*export_mappers.export_request(request))
        return export_mappers.file_message(file)

    async def GetScanTimeline(
        self, request: report_pb2.GetScanTimelineRequest, context: Context
    ) -> report_pb2.ScanTimeline:
        return timeline_message(await self._timelines.timeline(request.owner.org_id, request.scan_id))
