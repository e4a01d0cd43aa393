"""A report's events as server-sent events (a stream slot held while open, as for scans)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import Response

from rampart_gateway.api.reports.events import report_events
from rampart_gateway.api.reports.routes import fetch_report
from rampart_gateway.api.scans.queries import StreamHeaders, StreamQuery
from rampart_gateway.inputs import read_headers, read_query
from rampart_gateway.operations import caller
from rampart_gateway.stream_slots import HeldEventSource

HEARTBEAT_SECONDS = 15


async def report_stream(request: Request) -> Response:
    principal = caller(request)
    header = read_headers(request, StreamHeaders).last_event_id
    query = read_query(request, StreamQuery).last_event_id
    report = await fetch_report(request)
    after = header if header is not None else query
    slot = request.state.stream_slots.acquire(principal)
    source = report_events(
        request.state.broker, report, after, idle_timeout=request.state.settings.stream_idle_timeout
    )

    async def frames() -> AsyncIterator[dict[str, str]]:
        async for event in source:
            frame = {"event": event.name, "data": json.dumps(event.data)}
            if event.id:
                frame["id"] = str(event.id)
            yield frame

    return HeldEventSource(slot, frames(), ping=HEARTBEAT_SECONDS, headers={"x-accel-buffering": "no"})
