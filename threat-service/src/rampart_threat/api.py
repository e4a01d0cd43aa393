"""gRPC entry point for threat-service: decode, call the service layer, encode."""

from __future__ import annotations

from rampart.lib.grpcserver import Context
from rampart.threat.v1 import threat_pb2, threat_pb2_grpc
from rampart_threat.analysis import mappers as analysis_mappers
from rampart_threat.analysis.service import AnalysisService
from rampart_threat.incidents.api import IncidentRpcs
from rampart_threat.incidents.service import IncidentService
from rampart_threat.mappers import activity_message
from rampart_threat.service import ActivityService


class ThreatServicer(IncidentRpcs, threat_pb2_grpc.ThreatServiceServicer):
    """Serves scan activity, threat analysis and incidents; what is not built answers UNIMPLEMENTED."""

    def __init__(
        self, activity: ActivityService, analysis: AnalysisService, incidents: IncidentService
    ) -> None:
        self._activity = activity
        self._analysis = analysis
        self._incidents = incidents

    async def GetScanActivity(
        self, request: threat_pb2.GetScanActivityRequest, context: Context
    ) -> threat_pb2.ScanActivity:
        return activity_message(await self._activity.activity(request.owner.org_id, request.scan_id))

    async def AnalyzeThreat(
        self, request: threat_pb2.AnalyzeThreatRequest, context: Context
    ) -> threat_pb2.ThreatAnalysis:
        return analysis_mappers.analysis_message(
            await self._analysis.analyze(analysis_mappers.analyze_request(request))
        )

    async def ListAnalyses(
        self, request: threat_pb2.ListAnalysesRequest, context: Context
    ) -> threat_pb2.ListAnalysesResponse:
        verdict = analysis_mappers.verdict_filter(request.verdict)
        page = await self._analysis.list(request.owner.org_id, request.page_size, request.page_token, verdict)
        return analysis_mappers.page_message(page)

    async def GetAnalysis(
        self, request: threat_pb2.GetAnalysisRequest, context: Context
    ) -> threat_pb2.ThreatAnalysis:
        return analysis_mappers.analysis_message(
            await self._analysis.get(request.owner.org_id, request.analysis_id)
        )
