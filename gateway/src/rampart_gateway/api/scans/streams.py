"""A scan's live events as server-sent events and over a WebSocket (the same events, as JSON).

Both take a stream slot (the plan's cap on open streams) once the scan is found and give it
back however the stream ends. The WebSocket's credential, scope and rate-limit closes
(4401, 4403, 4429) come from its ``operations.Channel`` guard; this module closes with the
rest (docs/security/inputs.md).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import grpc
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket, WebSocketDisconnect

from rampart_gateway.api.scans.events import IDLE_TIMEOUT_CODE, scan_events
from rampart_gateway.api.scans.queries import StreamHeaders, StreamQuery
from rampart_gateway.api.scans.routes import fetch_scan
from rampart_gateway.errors import ApiError, grpc_to_api_error
from rampart_gateway.inputs import read_headers, read_query
from rampart_gateway.operations import WS_RATE_LIMITED, caller
from rampart_gateway.stream_slots import HeldEventSource

HEARTBEAT_SECONDS = 15
WS_INVALID = 4400  # a query parameter is not valid (e.g. last_event_id)
WS_NOT_FOUND, WS_UNAVAILABLE = 4404, 4503
WS_IDLE = 4408  # no event for STREAM_IDLE_TIMEOUT seconds (after an error frame saying so)


async def scan_stream(request: Request) -> Response:
    principal = caller(request)
    header = read_headers(request, StreamHeaders).last_event_id
    query = read_query(request, StreamQuery).last_event_id
    scan = await fetch_scan(request, principal, request.path_params["scan_id"])
    after = header if header is not None else query
    slot = request.state.stream_slots.acquire(principal)  # 429 past the plan's stream cap
    settings = request.state.settings
    source = scan_events(
        request.state.broker,
        scan,
        after,
        idle_timeout=settings.stream_idle_timeout,
        findings_grace=settings.stream_findings_grace,
        findings_max_wait=settings.stream_findings_max_wait,
    )

    async def frames() -> AsyncIterator[dict[str, str]]:
        async for event in source:
            frame = {"event": event.name, "data": json.dumps(event.data)}
            if event.id:
                frame["id"] = str(event.id)
            yield frame

    return HeldEventSource(slot, frames(), ping=HEARTBEAT_SECONDS, headers={"x-accel-buffering": "no"})


async def scan_websocket(websocket: WebSocket) -> None:
    """Same events as SSE, as JSON frames {"event", "data", "id"}; accepted by the guard."""
    principal = caller(websocket)
    state = websocket.scope["state"]
    try:
        after = read_query(websocket, StreamQuery).last_event_id
        scan = await fetch_scan(websocket, principal, websocket.path_params["scan_id"])
    except grpc.aio.AioRpcError as error:
        api_error = grpc_to_api_error(error)
        code = WS_NOT_FOUND if api_error.status_code == 404 else WS_UNAVAILABLE
        await websocket.close(code, api_error.message[:120])
        return
    except ApiError as error:
        await websocket.close(WS_INVALID, error.message[:120])
        return
    try:
        slot = state["stream_slots"].acquire(principal)
    except ApiError as error:
        await websocket.close(WS_RATE_LIMITED, error.message[:120])
        return
    try:
        settings = state["settings"]
        idle, grace = settings.stream_idle_timeout, settings.stream_findings_grace
        longest = settings.stream_findings_max_wait
        events = scan_events(
            state["broker"], scan, after, idle_timeout=idle, findings_grace=grace, findings_max_wait=longest
        )
        async for event in events:
            frame: dict[str, Any] = {"event": event.name, "data": event.data, "id": event.id or None}
            await websocket.send_json(frame)
            if event.name == "error" and event.data["error"]["code"] == IDLE_TIMEOUT_CODE:
                await websocket.close(WS_IDLE, "no event for the idle timeout")
                return
    except (WebSocketDisconnect, RuntimeError):
        return
    except ApiError as error:
        await websocket.close(WS_UNAVAILABLE, error.message[:120])
        return
    finally:
        slot.release()
    await websocket.close(1000, "scan finished")
