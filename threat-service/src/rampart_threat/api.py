"""gRPC entry point for threat-service: decode, call the service layer, encode."""

from __future__ import annotations

from rampart.lib.grpcserver import Context
from rampart.threat.v1 import threat_pb2, threat_pb2_grpc
from rampart_threat.incidents.api import IncidentRpcs
from rampart_threat.incidents.service import IncidentService
from rampart_threat.mappers import activity_message
from rampart_threat.service import ActivityService


class ThreatServicer(IncidentRpcs, threat_pb2_grpc.ThreatServiceServicer):
    """Serves scan activity and incidents; analysis and vulnerabilities answer UNIMPLEMENTED (not built)."""

    def __init__(self, activity: ActivityService, incidents: IncidentService) -> None:
        self._activity = activity
        self._incidents = incidents

    async def GetScanActivity(
        self, request: threat_pb2.GetScanActivityRequest, context: Context
    ) -> threat_pb2.ScanActivity:
        return activity_message(await self._activity.activity(request.owner.org_id, request.scan_id))
