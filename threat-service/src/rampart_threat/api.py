"""gRPC entry point for threat-service."""

from __future__ import annotations

from rampart.lib.grpcserver import Context
from rampart.threat.v1 import threat_pb2, threat_pb2_grpc
from rampart_threat.activity import ScanActivity, event_types, last_status


class ThreatServicer(threat_pb2_grpc.ThreatServiceServicer):
    """Scan activity is served; analysis, vulnerabilities and incidents are not built yet."""

    def __init__(self, activity: ScanActivity) -> None:
        self._activity = activity

    async def GetScanActivity(
        self, request: threat_pb2.GetScanActivityRequest, context: Context
    ) -> threat_pb2.ScanActivity:
        doc = await self._activity.get(request.owner.org_id, request.scan_id)
        return threat_pb2.ScanActivity(
            scan_id=doc["_id"],
            last_status=last_status(doc),
            events_applied=doc.get("events_applied", 0),
            event_types=event_types(doc),
        )
