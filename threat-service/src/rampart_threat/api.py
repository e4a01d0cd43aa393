"""gRPC entry point for threat-service: decode, call the service layer, encode."""

from __future__ import annotations

from rampart.lib.grpcserver import Context
from rampart.threat.v1 import threat_pb2, threat_pb2_grpc
from rampart_threat.feeds.mappers import feed_kind, import_message, status_message
from rampart_threat.feeds.service import FeedService
from rampart_threat.mappers import activity_message
from rampart_threat.service import ActivityService


class ThreatServicer(threat_pb2_grpc.ThreatServiceServicer):
    """Serves scan activity and the feed admin RPCs; analysis, vulnerabilities and incidents
    answer UNIMPLEMENTED (not built)."""

    def __init__(self, activity: ActivityService, feeds: FeedService) -> None:
        self._activity = activity
        self._feeds = feeds

    async def GetScanActivity(
        self, request: threat_pb2.GetScanActivityRequest, context: Context
    ) -> threat_pb2.ScanActivity:
        return activity_message(await self._activity.activity(request.owner.org_id, request.scan_id))

    async def ImportFeed(
        self, request: threat_pb2.ImportFeedRequest, context: Context
    ) -> threat_pb2.FeedImport:
        return import_message(await self._feeds.import_under_feeds_dir(feed_kind(request.kind), request.path))

    async def GetFeedStatus(
        self, request: threat_pb2.GetFeedStatusRequest, context: Context
    ) -> threat_pb2.FeedStatus:
        return status_message(await self._feeds.status(), self._feeds.stale_days)
