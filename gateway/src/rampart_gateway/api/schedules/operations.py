"""The schedule operations: routes and OpenAPI entries, each with the scope it enforces."""

from __future__ import annotations

from starlette.routing import BaseRoute

from rampart_gateway.api.schedules import schemas
from rampart_gateway.api.schedules.routes import (
    ListSchedulesQuery,
    create_schedule,
    delete_schedule,
    get_schedule,
    list_schedules,
    update_schedule,
)
from rampart_gateway.operations import Operation

ONE = "/api/v1/schedules/{schedule_id}"
OPERATIONS = (
    Operation(
        "POST",
        "/api/v1/schedules",
        create_schedule,
        "Scan targets on a cron expression or an interval",
        "schedules",
        scope="scans:write",
        body=schemas.ScheduleCreateRequest,
        response=schemas.ScheduleView,
        status=201,
        errors=("VALIDATION_ERROR", "INVALID_TARGET", "INVALID_PORT_SPEC"),
    ),
    Operation(
        "GET",
        "/api/v1/schedules",
        list_schedules,
        "List your schedules",
        "schedules",
        scope="scans:read",
        query=ListSchedulesQuery,
        response=schemas.ScheduleList,
        errors=("VALIDATION_ERROR",),
    ),
    Operation(
        "GET",
        ONE,
        get_schedule,
        "A schedule with its next run and what its runs did",
        "schedules",
        scope="scans:read",
        response=schemas.ScheduleView,
        errors=("SCHEDULE_NOT_FOUND",),
    ),
    Operation(
        "PATCH",
        ONE,
        update_schedule,
        "Change a schedule (e.g. enabled, cron, targets)",
        "schedules",
        scope="scans:write",
        body=schemas.ScheduleUpdateRequest,
        response=schemas.ScheduleView,
        errors=("SCHEDULE_NOT_FOUND", "VALIDATION_ERROR", "INVALID_TARGET", "INVALID_PORT_SPEC"),
    ),
    Operation(
        "DELETE",
        ONE,
        delete_schedule,
        "Delete a schedule (its scans stay)",
        "schedules",
        scope="scans:write",
        errors=("SCHEDULE_NOT_FOUND",),
    ),
)
ROUTES: tuple[BaseRoute, ...] = ()
