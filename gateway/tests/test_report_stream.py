"""A report's stream: progress events, then complete (or error) which ends it; resumed after an id;
a finished report whose events are gone gets one made-up final event."""

from __future__ import annotations

import asyncio
from typing import Any

from gateway.tests.fake_stream import stream_broker
from rampart.report.v1 import report_pb2
from rampart_gateway.api.reports.events import report_events
from rampart_gateway.api.scans.events import StreamEvent

PENDING, READY, FAILED = (
    report_pb2.REPORT_STATUS_PENDING,
    report_pb2.REPORT_STATUS_READY,
    report_pb2.REPORT_STATUS_FAILED,
)


def report(status: int, **fields: Any) -> report_pb2.Report:
    return report_pb2.Report(report_id="rep_1", status=status, **fields)  # type: ignore[arg-type]


def event(kind: str, stage: str = "", **fields: Any) -> report_pb2.ReportEvent:
    return report_pb2.ReportEvent(event_id=f"e-{kind}-{stage}", type=f"report.{kind}", stage=stage, **fields)


HISTORY = [
    event("progress", "started", report=report(PENDING, progress=0)),
    event("progress", "rendering", report=report(PENDING, progress=50)),
    event("completed", report=report(READY, progress=100, sha256="ab" * 32, size_bytes=1234)),
    event("progress", "late", report=report(READY, progress=100)),  # never read: complete ends it
]


async def read(
    history: list[report_pb2.ReportEvent], current: report_pb2.Report, after: int | None = None
) -> list[StreamEvent]:
    async with asyncio.timeout(10):
        broker = stream_broker({"rep_1": history})  # type: ignore[dict-item]
        return [e async for e in report_events(broker, current, after, idle_timeout=5)]


async def test_progress_then_complete_which_ends_the_stream() -> None:
    events = await read(HISTORY, report(PENDING))
    assert [(e.id, e.name) for e in events] == [(41, "progress"), (42, "progress"), (43, "complete")]
    assert events[1].data == {"report_id": "rep_1", "stage": "rendering", "progress": 50}
    done = events[2].data
    assert (done["status"], done["report"]["sha256"], done["report"]["size_bytes"]) == (
        "ready",
        "ab" * 32,
        1234,
    )
    assert done["report"]["links"]["download"] == "/api/v1/reports/rep_1/download"


async def test_a_resumed_stream_starts_after_the_last_id_seen() -> None:
    events = await read(HISTORY, report(PENDING), after=41)
    assert [(e.id, e.name) for e in events] == [(42, "progress"), (43, "complete")]


async def test_a_failed_report_ends_with_an_error_carrying_its_reason() -> None:
    history = [event("failed", report=report(FAILED, error="scan scan_9 not found"))]
    events = await read(history, report(PENDING))
    assert [(e.name, e.data["error"]) for e in events] == [
        ("error", {"code": "REPORT_FAILED", "message": "scan scan_9 not found"})
    ]


async def test_a_finished_report_without_kept_events_gets_one_final_event() -> None:
    events = await read([], report(READY, sha256="cd" * 32))
    assert [(e.id, e.name, e.data["status"]) for e in events] == [(0, "complete", "ready")]
