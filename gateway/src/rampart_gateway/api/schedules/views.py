"""Schedule replies as public JSON."""

from __future__ import annotations

from typing import Any

from rampart.common.v1 import common_pb2
from rampart.lib.enums import enum_word
from rampart.scan.v1 import scan_pb2
from rampart_gateway.envelope import when


def schedule(message: scan_pb2.Schedule) -> dict[str, Any]:
    spec = message.spec
    return {
        "schedule_id": message.schedule_id,
        "name": spec.name,
        "targets": list(spec.targets),
        "scan_type": enum_word(scan_pb2.ScanType, spec.scan_type) or "tcp",
        "ports": spec.ports,
        "profile": enum_word(scan_pb2.ScanProfile, spec.profile) or "standard",
        "options": {
            "os_detection": spec.options.os_detection,
            "service_detection": spec.options.service_detection,
            "ssl_check": spec.options.ssl_check,
            "fast_mode": spec.options.fast_mode,
        },
        "cron": spec.cron or None,
        "interval_seconds": spec.interval_seconds or None,
        "time_zone": spec.time_zone,
        "enabled": spec.enabled,
        "next_run_at": when(message.next_run_at),
        "last_run_at": when(message.last_run_at),
        "last_scan_id": message.last_scan_id or None,
        "runs": message.runs,
        "skipped_runs": message.skipped_runs,
        "missed_runs": message.missed_runs,
        "last_error": message.last_error or None,
        "sandbox": message.owner.mode == common_pb2.KEY_MODE_TEST,
        "created_at": when(message.created_at),
        "updated_at": when(message.updated_at),
    }


def page(reply: scan_pb2.ListSchedulesResponse) -> dict[str, Any]:
    info = reply.page
    return {
        "items": [schedule(s) for s in reply.schedules],
        "total": info.total,
        "page": info.page,
        "per_page": info.per_page,
        "pages": info.pages,
    }
