"""gRPC entry point for scan-service: decode, call the service layer, encode."""

from __future__ import annotations

from datetime import UTC, datetime

from rampart.common.v1 import common_pb2
from rampart.lib.grpcserver import Context
from rampart.lib.ids import from_timestamp, to_timestamp
from rampart.lib.logging import current_request_id
from rampart.lib.store import Document, read_time
from rampart.scan.v1 import scan_pb2, scan_pb2_grpc
from rampart_scan.service import STATUSES, ScanCommands


def scan_to_proto(doc: Document) -> scan_pb2.Scan:
    options = doc.get("options", {})
    return scan_pb2.Scan(
        scan_id=doc["_id"],
        owner=common_pb2.Owner(user_id=doc["user_id"], org_id=doc["org_id"]),
        targets=doc["targets"],
        scan_type=doc["scan_type"],
        ports=doc["ports"],
        options=scan_pb2.ScanOptions(**options),
        profile=doc["profile"],
        max_duration_seconds=doc["max_duration_seconds"],
        status=STATUSES[doc["status"]],
        progress=doc.get("progress", 0),
        created_at=to_timestamp(read_time(doc["created_at"])),
        completed_at=to_timestamp(read_time(doc.get("completed_at"))),
        sandbox=doc.get("sandbox", False),
    )


class ScanServicer(scan_pb2_grpc.ScanServiceServicer):
    """Scan lifecycle RPCs; results and listing arrive with the lifecycle issue."""

    def __init__(self, commands: ScanCommands) -> None:
        self._commands = commands

    async def CreateScan(self, request: scan_pb2.CreateScanRequest, context: Context) -> scan_pb2.Scan:
        request_id = request.request_id or current_request_id()
        return scan_to_proto(await self._commands.create(request, request_id))

    async def GetScan(self, request: scan_pb2.GetScanRequest, context: Context) -> scan_pb2.Scan:
        return scan_to_proto(await self._commands.get(request.owner, request.scan_id))

    async def CancelScan(self, request: scan_pb2.CancelScanRequest, context: Context) -> scan_pb2.Scan:
        doc = await self._commands.cancel(request.owner, request.scan_id, current_request_id())
        return scan_to_proto(doc)

    async def GetUsage(self, request: scan_pb2.GetUsageRequest, context: Context) -> scan_pb2.Usage:
        since = from_timestamp(request.since) or datetime(1970, 1, 1, tzinfo=UTC)
        return await self._commands.usage(request.owner, since)
