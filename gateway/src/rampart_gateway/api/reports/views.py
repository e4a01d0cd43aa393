"""Report messages as public JSON."""

from __future__ import annotations

from typing import Any

from rampart.lib.enums import enum_word
from rampart.report.v1 import report_pb2
from rampart_gateway.envelope import when

BASE = "/api/v1/reports"


def report(message: report_pb2.Report) -> dict[str, Any]:
    ready = message.status == report_pb2.REPORT_STATUS_READY
    links = {"self": f"{BASE}/{message.report_id}", "stream": f"{BASE}/{message.report_id}/stream"}
    if ready:
        links["download"] = f"{BASE}/{message.report_id}/download"
    return {
        "report_id": message.report_id,
        "title": message.title,
        "type": enum_word(report_pb2.ReportType, message.report_type),
        "format": enum_word(report_pb2.Format, message.format),
        "status": enum_word(report_pb2.ReportStatus, message.status),
        "progress": message.progress,
        "scan_ids": list(message.scan_ids),
        "assets": list(message.scope.assets) if message.HasField("scope") else None,
        "period": {"from": when(message.scope.period_from), "to": when(message.scope.period_to)}
        if message.HasField("scope")
        else None,
        "sections": [
            {"name": s.name, "status": s.status, "note": s.note, "source": s.source} for s in message.sections
        ],
        "size_bytes": message.size_bytes if ready else None,
        "sha256": message.sha256 or None,
        "filename": message.filename or None,
        "content_type": message.content_type or None,
        "sandbox": message.sandbox,
        "error": message.error or None,
        "created_at": when(message.created_at),
        "ready_at": when(message.ready_at),
        "expires_at": when(message.expires_at),
        "links": links,
    }
