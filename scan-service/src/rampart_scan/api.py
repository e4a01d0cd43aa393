"""gRPC entry point for scan-service: decode, call the service layer, encode."""

from __future__ import annotations

from datetime import UTC, datetime

from rampart.lib.grpcserver import Context
from rampart.lib.ids import from_timestamp
from rampart.lib.logging import current_request_id
from rampart.scan.v1 import scan_pb2, scan_pb2_grpc
from rampart_scan.commands import ScanCommands
from rampart_scan.domain import PlanLimits
from rampart_scan.mappers import (
    diff_to_proto,
    limits_from_proto,
    owner_from_proto,
    page_to_proto,
    results_to_proto,
    scan_to_proto,
    spec_from_proto,
    status_from_proto,
    usage_to_proto,
)
from rampart_scan.queries import ScanListing, ScanQueries
from rampart_scan.schedule_mappers import input_from_proto, plan_from_proto, schedule_to_proto, schedules_page
from rampart_scan.schedules import ScheduleCommands


class ScanServicer(scan_pb2_grpc.ScanServiceServicer):
    """The scan lifecycle over gRPC."""

    def __init__(self, commands: ScanCommands, queries: ScanQueries, schedules: ScheduleCommands) -> None:
        self._commands = commands
        self._queries = queries
        self._schedules = schedules

    async def CreateScan(self, request: scan_pb2.CreateScanRequest, context: Context) -> scan_pb2.Scan:
        created = await self._commands.create(
            owner_from_proto(request.owner),
            spec_from_proto(request),
            limits_from_proto(request),
            request.idempotency_key,
            request.request_id or current_request_id(),
        )
        if created.replayed:
            await context.send_initial_metadata((("rampart-idempotent-replay", "true"),))
        return scan_to_proto(created.scan)

    async def GetScan(self, request: scan_pb2.GetScanRequest, context: Context) -> scan_pb2.Scan:
        return scan_to_proto(await self._queries.get(owner_from_proto(request.owner), request.scan_id))

    async def ListScans(
        self, request: scan_pb2.ListScansRequest, context: Context
    ) -> scan_pb2.ListScansResponse:
        page = request.page
        listing = ScanListing(
            target=request.target,
            status=status_from_proto(request.status),
            created_after=from_timestamp(request.created.after),
            created_before=from_timestamp(request.created.before),
            page=page.page,
            per_page=page.per_page,
            cursor=page.cursor,
            sort=page.sort,
            descending=page.descending,
        )
        scans, info = await self._queries.list_scans(owner_from_proto(request.owner), listing)
        return scan_pb2.ListScansResponse(scans=[scan_to_proto(s) for s in scans], page=page_to_proto(info))

    async def CancelScan(self, request: scan_pb2.CancelScanRequest, context: Context) -> scan_pb2.Scan:
        owner = owner_from_proto(request.owner)
        return scan_to_proto(await self._commands.cancel(owner, request.scan_id, current_request_id()))

    async def ResumeScan(self, request: scan_pb2.ResumeScanRequest, context: Context) -> scan_pb2.Scan:
        owner = owner_from_proto(request.owner)
        limits = PlanLimits(concurrent=request.concurrent_limit)
        return scan_to_proto(
            await self._commands.resume(owner, request.scan_id, limits, current_request_id())
        )

    async def GetScanResults(
        self, request: scan_pb2.GetScanResultsRequest, context: Context
    ) -> scan_pb2.ScanResults:
        scan, ports, hosts = await self._queries.results(owner_from_proto(request.owner), request.scan_id)
        return results_to_proto(scan, ports, hosts)

    async def DeleteScanResults(
        self, request: scan_pb2.DeleteScanResultsRequest, context: Context
    ) -> scan_pb2.DeleteScanResultsResponse:
        deleted = await self._commands.delete_results(owner_from_proto(request.owner), request.scan_id)
        return scan_pb2.DeleteScanResultsResponse(deleted_ports=deleted)

    async def GetUsage(self, request: scan_pb2.GetUsageRequest, context: Context) -> scan_pb2.Usage:
        since = from_timestamp(request.since) or datetime(1970, 1, 1, tzinfo=UTC)
        return usage_to_proto(await self._queries.usage(owner_from_proto(request.owner), since))

    async def DiffScans(self, request: scan_pb2.DiffScansRequest, context: Context) -> scan_pb2.ScanDiff:
        owner = owner_from_proto(request.owner)
        diff = await self._queries.diff(
            owner, request.scan_id, request.against_scan_id, request.expiring_within_days, datetime.now(UTC)
        )
        return diff_to_proto(diff)

    async def CreateSchedule(
        self, request: scan_pb2.CreateScheduleRequest, context: Context
    ) -> scan_pb2.Schedule:
        owner = owner_from_proto(request.owner)
        created = await self._schedules.create(
            owner, input_from_proto(request.spec), plan_from_proto(request)
        )
        return schedule_to_proto(created)

    async def GetSchedule(self, request: scan_pb2.GetScheduleRequest, context: Context) -> scan_pb2.Schedule:
        return schedule_to_proto(
            await self._schedules.get(owner_from_proto(request.owner), request.schedule_id)
        )

    async def ListSchedules(
        self, request: scan_pb2.ListSchedulesRequest, context: Context
    ) -> scan_pb2.ListSchedulesResponse:
        owner = owner_from_proto(request.owner)
        return schedules_page(*await self._schedules.list(owner, request.page.page, request.page.per_page))

    async def UpdateSchedule(
        self, request: scan_pb2.UpdateScheduleRequest, context: Context
    ) -> scan_pb2.Schedule:
        updated = await self._schedules.update(
            owner_from_proto(request.owner),
            request.schedule_id,
            input_from_proto(request.spec),
            frozenset(request.update_paths),
            plan_from_proto(request),
        )
        return schedule_to_proto(updated)

    async def DeleteSchedule(
        self, request: scan_pb2.DeleteScheduleRequest, context: Context
    ) -> scan_pb2.DeleteScheduleResponse:
        await self._schedules.delete(owner_from_proto(request.owner), request.schedule_id)
        return scan_pb2.DeleteScheduleResponse()
