"""Schedules: proto ⇄ domain."""

from __future__ import annotations

from rampart.common.v1 import common_pb2
from rampart.lib.enums import enum_of, enum_word
from rampart.lib.ids import to_timestamp
from rampart.scan.v1 import scan_pb2
from rampart_scan.domain import PlanLimits, ScanOptions
from rampart_scan.domain.schedule import Schedule
from rampart_scan.mappers import owner_to_proto
from rampart_scan.schedules import ScheduleInput


def input_from_proto(spec: scan_pb2.ScheduleSpec) -> ScheduleInput:
    options = spec.options
    return ScheduleInput(
        targets=tuple(spec.targets),
        scan_type=enum_word(scan_pb2.ScanType, spec.scan_type),
        ports=spec.ports,
        profile=enum_word(scan_pb2.ScanProfile, spec.profile),
        options=ScanOptions(
            options.os_detection, options.service_detection, options.ssl_check, options.fast_mode
        ),
        cron=spec.cron,
        interval_seconds=spec.interval_seconds,
        time_zone=spec.time_zone,
        enabled=spec.enabled,
        name=spec.name,
    )


def plan_from_proto(
    request: scan_pb2.CreateScheduleRequest | scan_pb2.UpdateScheduleRequest,
) -> PlanLimits:
    return PlanLimits(
        request.concurrent_limit, request.daily_limit, request.max_hosts_limit, request.org_rate_limit
    )


def schedule_to_proto(schedule: Schedule) -> scan_pb2.Schedule:
    spec = schedule.spec
    options = spec.options
    return scan_pb2.Schedule(
        schedule_id=schedule.id,
        owner=owner_to_proto(schedule.owner),
        spec=scan_pb2.ScheduleSpec(
            targets=spec.targets,
            scan_type=enum_of(scan_pb2.ScanType, spec.scan_type),
            ports=spec.ports,
            profile=enum_of(scan_pb2.ScanProfile, spec.profile),
            options=scan_pb2.ScanOptions(
                os_detection=options.os_detection,
                service_detection=options.service_detection,
                ssl_check=options.ssl_check,
                fast_mode=options.fast_mode,
            ),
            cron=schedule.timing.cron,
            interval_seconds=schedule.timing.interval_seconds,
            time_zone=schedule.timing.time_zone,
            enabled=schedule.enabled,
            name=schedule.name,
        ),
        next_run_at=to_timestamp(schedule.next_run_at) if schedule.next_run_at else None,
        last_run_at=to_timestamp(schedule.last_run_at) if schedule.last_run_at else None,
        last_scan_id=schedule.last_scan_id,
        runs=schedule.runs,
        skipped_runs=schedule.skipped_runs,
        missed_runs=schedule.missed_runs,
        last_error=schedule.last_error,
        created_at=to_timestamp(schedule.created_at),
        updated_at=to_timestamp(schedule.updated_at),
    )


def schedules_page(
    items: list[Schedule], total: int, page: int, per_page: int
) -> scan_pb2.ListSchedulesResponse:
    return scan_pb2.ListSchedulesResponse(
        schedules=[schedule_to_proto(s) for s in items],
        page=common_pb2.PageInfo(
            total=total, page=page, per_page=per_page, pages=-(-total // per_page) if total else 0
        ),
    )
