"""gRPC entry point for report-service: decode, call the service layer, encode."""

from __future__ import annotations

from rampart.lib.grpcserver import Context
from rampart.report.v1 import report_pb2
from rampart_report.compliance.api import ComplianceRpcs
from rampart_report.compliance.service import ComplianceService
from rampart_report.mappers import timeline_message
from rampart_report.service import TimelineService


class ReportServicer(ComplianceRpcs):
    """Serves scan timelines and compliance (compliance/api.py); exports, reports and webhooks answer
    UNIMPLEMENTED (not built)."""

    def __init__(self, timelines: TimelineService, compliance: ComplianceService | None = None) -> None:
        self._timelines = timelines
        self._compliance = compliance

    async def GetScanTimeline(
        self, request: report_pb2.GetScanTimelineRequest, context: Context
    ) -> report_pb2.ScanTimeline:
        return timeline_message(await self._timelines.timeline(request.owner.org_id, request.scan_id))
