"""gRPC entry point for report-service."""

from __future__ import annotations

from rampart.lib.grpcserver import Context
from rampart.lib.ids import to_timestamp
from rampart.lib.store import read_time
from rampart.report.v1 import report_pb2, report_pb2_grpc
from rampart_report.timeline import ScanTimeline


class ReportServicer(report_pb2_grpc.ReportServiceServicer):
    """Scan timelines are served; exports, reports, compliance and webhooks are not built yet."""

    def __init__(self, timeline: ScanTimeline) -> None:
        self._timeline = timeline

    async def GetScanTimeline(
        self, request: report_pb2.GetScanTimelineRequest, context: Context
    ) -> report_pb2.ScanTimeline:
        docs = await self._timeline.entries(request.owner.org_id, request.scan_id)
        return report_pb2.ScanTimeline(
            scan_id=request.scan_id,
            entries=[
                report_pb2.TimelineEntry(
                    event_id=doc["_id"],
                    type=doc["type"],
                    sequence=doc["sequence"],
                    occurred_at=to_timestamp(read_time(doc.get("occurred_at"))),
                )
                for doc in docs
            ],
        )
