"""A report's progress as server-sent events, replayed from JetStream then followed.

Each client reads its own ordered consumer on ``report.events.<report_id>.>``: ``progress``
(stage, percent), then ``complete`` (the report, ready) or ``error`` (failed), which ends the
stream. Ids are JetStream sequence numbers, so Last-Event-ID resumes after the last event seen.
A report already finished whose events are no longer kept gets one made-up final event.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from google.protobuf.message import DecodeError
from nats.aio.msg import Msg
from nats.js.api import ConsumerConfig, DeliverPolicy

from rampart.lib.catalogue import subjects
from rampart.report.v1 import report_pb2
from rampart_gateway.api.reports import views
from rampart_gateway.api.scans.events import StreamEvent
from rampart_gateway.clients import BrokerLink
from rampart_gateway.errors import ApiError

MAX_BUFFER = 200
IDLE_AFTER_FINAL = 2.0
FINISHED = (report_pb2.REPORT_STATUS_READY, report_pb2.REPORT_STATUS_FAILED)
NAMES = {"report.progress": "progress", "report.completed": "complete", "report.failed": "error"}


def event_data(event: report_pb2.ReportEvent) -> tuple[str, dict[str, Any]]:
    name = NAMES.get(event.type, "progress")
    view = views.report(event.report)
    if name == "progress":
        return name, {"report_id": view["report_id"], "stage": event.stage, "progress": view["progress"]}
    if name == "error":
        return name, {
            "report_id": view["report_id"],
            "status": "failed",
            "error": {"code": "REPORT_FAILED", "message": view["error"] or "the report failed"},
        }
    return name, {"report_id": view["report_id"], "status": "ready", "report": view}


def final_event(report: report_pb2.Report) -> StreamEvent:
    """The end of a finished report's stream when its events are no longer kept."""
    kind = "report.completed" if report.status == report_pb2.REPORT_STATUS_READY else "report.failed"
    name, data = event_data(report_pb2.ReportEvent(type=kind, report=report))
    return StreamEvent(0, name, data)


async def report_events(
    broker: BrokerLink, report: report_pb2.Report, after: int | None, idle_timeout: float | None = None
) -> AsyncIterator[StreamEvent]:
    nc = broker.nc
    if nc is None or not nc.is_connected:
        raise ApiError("SERVICE_UNAVAILABLE", "the event stream is unavailable; retry shortly")
    queue: asyncio.Queue[Msg] = asyncio.Queue(maxsize=MAX_BUFFER)

    async def receive(message: Msg) -> None:
        with contextlib.suppress(asyncio.QueueFull):  # progress only: the final event matters
            queue.put_nowait(message)

    if after:
        config = ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=after + 1)
    else:
        config = ConsumerConfig(deliver_policy=DeliverPolicy.ALL)
    subscription = await nc.jetstream().subscribe(
        subjects.report_events_of(report.report_id),
        cb=receive,
        ordered_consumer=True,
        config=config,
        stream=subjects.REPORT_EVENTS_STREAM,
    )
    finished = report.status in FINISHED
    try:
        while True:
            try:
                message = await asyncio.wait_for(queue.get(), IDLE_AFTER_FINAL if finished else idle_timeout)
            except TimeoutError:
                if finished:
                    yield final_event(report)
                return
            try:
                event = report_pb2.ReportEvent.FromString(message.data)
            except DecodeError:
                continue
            name, data = event_data(event)
            yield StreamEvent(message.metadata.sequence.stream, name, data)
            if name in ("complete", "error"):
                return
    finally:
        with contextlib.suppress(Exception):
            await subscription.unsubscribe()
