"""Schedules: create, list, read, change and delete: decode, call scan-service, encode.

Each schedule carries the caller's plan (as a scan does) so the scans it starts get the same
quota and limits; a change re-sends the plan, so an upgrade or downgrade applies from then on.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import Response

from rampart.common.v1 import common_pb2
from rampart.scan.v1 import scan_pb2
from rampart_gateway.api.scans.routes import FULL_SLASH_16
from rampart_gateway.api.scans.schemas import ScanOptionsBody
from rampart_gateway.api.schedules import views
from rampart_gateway.api.schedules.schemas import ScheduleCreateRequest, ScheduleUpdateRequest
from rampart_gateway.envelope import ok
from rampart_gateway.inputs import Params, Whole, enum_field, read_json, read_query
from rampart_gateway.operations import caller
from rampart_gateway.principal import Principal

TIMEOUT = 30.0


class ListSchedulesQuery(Params):
    page: Whole = Field(default=1, ge=1, le=100_000, description="1-based page number")
    per_page: Whole = Field(default=20, ge=1, le=100, description="items per page")


def plan(principal: Principal) -> dict[str, Any]:
    return {
        "concurrent_limit": principal.plan.concurrent_scans,
        "daily_limit": principal.plan.scans_per_day,
        "max_hosts_limit": principal.plan.max_hosts_per_scan or FULL_SLASH_16,
        "org_rate_limit": float(principal.plan.probes_per_second),
    }


def options(body: ScanOptionsBody | None) -> scan_pb2.ScanOptions | None:
    if body is None:
        return None
    return scan_pb2.ScanOptions(
        os_detection=body.os_detection,
        service_detection=body.service_detection,
        ssl_check=body.ssl_check,
        fast_mode=body.fast_mode,
    )


def spec(body: BaseModel) -> tuple[scan_pb2.ScheduleSpec, list[str]]:
    """The spec message and the fields the body named (all of them on create)."""
    given = body.model_fields_set
    values = body.model_dump()
    message = scan_pb2.ScheduleSpec(
        name=values.get("name") or "",
        targets=values.get("targets") or [],
        scan_type=enum_field(scan_pb2.ScanType, values.get("scan_type") or "", "scan_type"),
        ports=values.get("ports") or "",
        profile=enum_field(scan_pb2.ScanProfile, values.get("profile") or "", "profile"),
        options=options(getattr(body, "options", None)),
        cron=values.get("cron") or "",
        interval_seconds=values.get("interval_seconds") or 0,
        time_zone=values.get("time_zone") or "",
        enabled=bool(values.get("enabled")),
    )
    return message, sorted(given)


async def create_schedule(request: Request) -> Response:
    principal = caller(request)
    body = await read_json(request, ScheduleCreateRequest)
    message, _ = spec(body)
    reply = await request.state.clients.scan.CreateSchedule(
        scan_pb2.CreateScheduleRequest(owner=principal.owner, spec=message, **plan(principal)),
        timeout=TIMEOUT,
    )
    return ok(request, views.schedule(reply), status_code=201)


async def list_schedules(request: Request) -> Response:
    principal = caller(request)
    query = read_query(request, ListSchedulesQuery)
    reply = await request.state.clients.scan.ListSchedules(
        scan_pb2.ListSchedulesRequest(
            owner=principal.owner, page=common_pb2.PageRequest(page=query.page, per_page=query.per_page)
        ),
        timeout=TIMEOUT,
    )
    return ok(request, views.page(reply))


async def get_schedule(request: Request) -> Response:
    principal = caller(request)
    reply = await request.state.clients.scan.GetSchedule(
        scan_pb2.GetScheduleRequest(owner=principal.owner, schedule_id=request.path_params["schedule_id"]),
        timeout=TIMEOUT,
    )
    return ok(request, views.schedule(reply))


async def update_schedule(request: Request) -> Response:
    principal = caller(request)
    body = await read_json(request, ScheduleUpdateRequest)
    message, fields = spec(body)
    reply = await request.state.clients.scan.UpdateSchedule(
        scan_pb2.UpdateScheduleRequest(
            owner=principal.owner,
            schedule_id=request.path_params["schedule_id"],
            spec=message,
            update_paths=fields,
            **plan(principal),
        ),
        timeout=TIMEOUT,
    )
    return ok(request, views.schedule(reply))


async def delete_schedule(request: Request) -> Response:
    principal = caller(request)
    schedule_id = request.path_params["schedule_id"]
    await request.state.clients.scan.DeleteSchedule(
        scan_pb2.DeleteScheduleRequest(owner=principal.owner, schedule_id=schedule_id), timeout=TIMEOUT
    )
    return ok(request, {"schedule_id": schedule_id, "deleted": True})
