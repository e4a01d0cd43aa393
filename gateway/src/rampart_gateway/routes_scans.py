"""Scans: create, list, read, cancel, results, export, and live SSE / WebSocket streams."""

from __future__ import annotations

import csv
import io
import json
import string
from collections.abc import AsyncIterator
from typing import Any

import grpc
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket, WebSocketDisconnect

from rampart.common.v1 import common_pb2
from rampart.scan.v1 import scan_pb2
from rampart_gateway import queries, scan_views, schemas
from rampart_gateway.envelope import ok
from rampart_gateway.errors import ApiError, grpc_to_api_error
from rampart_gateway.operations import Operation, read_json, require
from rampart_gateway.principal import Principal
from rampart_gateway.queries import read_headers, read_query
from rampart_gateway.stream_slots import HeldEventSource
from rampart_gateway.streams import IDLE_TIMEOUT_CODE, scan_events

TIMEOUT = 30.0
KEY_CHARS = frozenset(string.ascii_letters + string.digits + "-_.:")
STATUS_FILTER = {name: value for value, name in scan_views.STATUS.items() if name != "unspecified"}
HEARTBEAT_SECONDS = 15
# WebSocket close codes (documented in the README and docs/security/inputs.md).
WS_INVALID = 4400  # a query parameter is not valid (e.g. last_event_id)
WS_UNAUTHENTICATED, WS_FORBIDDEN, WS_NOT_FOUND, WS_RATE_LIMITED, WS_UNAVAILABLE = 4401, 4403, 4404, 4429, 4503
WS_IDLE = 4408  # no event for STREAM_IDLE_TIMEOUT seconds (after an error frame saying so)


def stream_urls(request: Request, scan_id: str) -> tuple[str, str]:
    base = str(request.base_url).rstrip("/")
    ws_base = "wss" + base[5:] if base.startswith("https") else "ws" + base[4:]
    return f"{ws_base}/ws/scans/{scan_id}", f"{base}/api/v1/scans/{scan_id}/stream"


async def create_scan(request: Request) -> Response:
    principal = require(request, "scans:write")
    body = await read_json(request, schemas.ScanCreateRequest)
    key = request.headers.get("idempotency-key", "")
    if key and (len(key) > 255 or not set(key) <= KEY_CHARS):
        raise ApiError(
            "VALIDATION_ERROR",
            "Idempotency-Key must be 1-255 of A-Z a-z 0-9 - _ . :",
            {"field": "Idempotency-Key"},
        )
    options = body.options
    message = scan_pb2.CreateScanRequest(
        owner=principal.owner,
        targets=body.targets if body.targets is not None else [body.target or ""],
        scan_type=queries.enum_field(scan_pb2.ScanType, body.scan_type, "scan_type"),
        ports=body.ports or "",
        profile=queries.enum_field(scan_pb2.ScanProfile, body.profile or "", "profile"),
        options=scan_pb2.ScanOptions(
            os_detection=options.os_detection,
            service_detection=options.service_detection,
            ssl_check=options.ssl_check,
            fast_mode=options.fast_mode,
        ),
        max_duration_seconds=max(1, round(body.max_duration * 60)) if body.max_duration else 0,
        idempotency_key=key,
        request_id=request.state.request_id,
        concurrent_limit=principal.plan.concurrent_scans,
        daily_limit=principal.plan.scans_per_day,
    )
    call = request.state.clients.scan.CreateScan(message, timeout=TIMEOUT)
    scan = await call
    replayed = any(k == "rampart-idempotent-replay" for k, _ in (await call.initial_metadata()) or ())
    websocket_url, sse_url = stream_urls(request, scan.scan_id)
    view = scan_views.scan(scan)
    data = {
        "scan_id": scan.scan_id,
        "status": view["status"],
        "target": view["target"],
        "targets": view["targets"],
        "created_at": view["created_at"],
        "estimated_duration": view["estimated_duration"],
        "websocket_url": websocket_url,
        "sse_url": sse_url,
        "sandbox": view["sandbox"],
    }
    response = ok(request, data, status_code=201)
    if replayed:
        response.headers["idempotent-replayed"] = "true"
    return response


async def list_scans(request: Request) -> Response:
    principal = require(request, "scans:read")
    query = read_query(request, queries.ListScansQuery)
    created = common_pb2.TimeRange()
    if query.created_after:
        created.after.FromDatetime(query.created_after)
    if query.created_before:
        created.before.FromDatetime(query.created_before)
    page = common_pb2.PageRequest(
        page=query.page,
        per_page=query.per_page,
        cursor=query.cursor,
        sort=query.sort,
        descending=query.order == "desc",
    )
    reply = await request.state.clients.scan.ListScans(
        scan_pb2.ListScansRequest(
            owner=principal.owner,
            target=query.target,
            status=STATUS_FILTER[query.status] if query.status else scan_pb2.SCAN_STATUS_UNSPECIFIED,
            created=created,
            page=page,
        ),
        timeout=TIMEOUT,
    )
    info = reply.page
    return ok(
        request,
        {
            "items": [scan_views.scan(s) for s in reply.scans],
            "total": info.total,
            "page": info.page,
            "per_page": info.per_page,
            "pages": info.pages,
            "next_cursor": info.next_cursor or None,
        },
    )


async def _scan(request: Request, principal: Principal, scan_id: str) -> scan_pb2.Scan:
    reply: scan_pb2.Scan = await request.state.clients.scan.GetScan(
        scan_pb2.GetScanRequest(owner=principal.owner, scan_id=scan_id), timeout=TIMEOUT
    )
    return reply


async def get_scan(request: Request) -> Response:
    principal = require(request, "scans:read")
    return ok(request, scan_views.scan(await _scan(request, principal, request.path_params["scan_id"])))


async def cancel_scan(request: Request) -> Response:
    principal = require(request, "scans:write")
    reply = await request.state.clients.scan.CancelScan(
        scan_pb2.CancelScanRequest(owner=principal.owner, scan_id=request.path_params["scan_id"]),
        timeout=TIMEOUT,
    )
    return ok(request, scan_views.scan(reply))


async def _results(request: Request, principal: Principal) -> scan_pb2.ScanResults:
    reply: scan_pb2.ScanResults = await request.state.clients.scan.GetScanResults(
        scan_pb2.GetScanResultsRequest(owner=principal.owner, scan_id=request.path_params["scan_id"]),
        timeout=TIMEOUT,
    )
    return reply


async def scan_results(request: Request) -> Response:
    principal = require(request, "scans:read")
    return ok(request, scan_views.results(await _results(request, principal)))


async def delete_results(request: Request) -> Response:
    principal = require(request, "scans:write")
    scan_id = request.path_params["scan_id"]
    reply = await request.state.clients.scan.DeleteScanResults(
        scan_pb2.DeleteScanResultsRequest(owner=principal.owner, scan_id=scan_id), timeout=TIMEOUT
    )
    return ok(request, {"scan_id": scan_id, "deleted_ports": reply.deleted_ports})


CSV_COLUMNS = (
    "host",
    "port",
    "protocol",
    "state",
    "service",
    "product",
    "version",
    "cpe",
    "confidence",
    "tls_protocols",
    "tls_weaknesses",
    "rtt_ms",
)


def _csv_cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text  # no formula injection


async def export_scan(request: Request) -> Response:
    principal = require(request, "scans:read")
    fmt = read_query(request, queries.ExportQuery).format
    data = scan_views.results(await _results(request, principal))
    name = f"{data['scan_id']}.{fmt}"
    headers = {"content-disposition": f'attachment; filename="{name}"'}
    if fmt == "json":
        return Response(json.dumps(data, indent=2), media_type="application/json", headers=headers)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for item in data["ports"]:
        service, tls = item["service"] or {}, item["tls"] or {}
        row = (
            item["host"],
            item["port"],
            item["protocol"],
            item["state"],
            service.get("name"),
            service.get("product"),
            service.get("version"),
            service.get("cpe"),
            service.get("confidence"),
            " ".join(tls.get("protocols_accepted", [])),
            " ".join(tls.get("weaknesses", [])),
            item["rtt_ms"],
        )
        writer.writerow([_csv_cell(value) for value in row])
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers=headers)


async def scan_stream(request: Request) -> Response:
    principal = require(request, "scans:read")
    header = read_headers(request, queries.StreamHeaders).last_event_id
    query = read_query(request, queries.StreamQuery).last_event_id
    scan = await _scan(request, principal, request.path_params["scan_id"])
    after = header if header is not None else query
    slot = request.state.stream_slots.acquire(principal)  # 429 past the plan's stream cap
    idle = request.state.settings.stream_idle_timeout
    source = scan_events(request.state.broker, scan, after, idle_timeout=idle)

    async def frames() -> AsyncIterator[dict[str, str]]:
        async for event in source:
            frame = {"event": event.name, "data": json.dumps(event.data)}
            if event.id:
                frame["id"] = str(event.id)
            yield frame

    return HeldEventSource(slot, frames(), ping=HEARTBEAT_SECONDS, headers={"x-accel-buffering": "no"})


async def scan_websocket(websocket: WebSocket) -> None:
    """Same events as SSE, as JSON frames {"event", "data", "id"}; see the README for close codes."""
    await websocket.accept()
    state = websocket.scope.get("state", {})
    principal: Principal | None = state.get("principal")
    rate = state.get("rate")
    if rate is not None and not rate.allowed:
        await websocket.close(WS_RATE_LIMITED, "rate limit exceeded")
        return
    if principal is None:
        await websocket.close(WS_UNAUTHENTICATED, state.get("auth_error") or "API key is missing")
        return
    if not principal.allows("scans:read"):
        await websocket.close(WS_FORBIDDEN, "this credential lacks the 'scans:read' scope")
        return
    clients = state["clients"]
    try:
        after = read_query(websocket, queries.StreamQuery).last_event_id
        scan = await clients.scan.GetScan(
            scan_pb2.GetScanRequest(owner=principal.owner, scan_id=websocket.path_params["scan_id"]),
            timeout=TIMEOUT,
        )
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
        idle = state["settings"].stream_idle_timeout
        async for event in scan_events(state["broker"], scan, after, idle_timeout=idle):
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


OPERATIONS = (
    Operation(
        "POST",
        "/api/v1/scans",
        create_scan,
        "Start a scan of targets you are authorised to scan",
        "scans",
        scope="scans:write",
        body=schemas.ScanCreateRequest,
        response=schemas.ScanCreated,
        status=201,
        errors=(
            "INVALID_TARGET",
            "INVALID_PORT_SPEC",
            "VALIDATION_ERROR",
            "TARGET_NOT_ALLOWED",
            "CONCURRENT_LIMIT_EXCEEDED",
            "SCAN_QUOTA_EXCEEDED",
            "IDEMPOTENCY_KEY_REUSED",
        ),
    ),
    Operation(
        "GET",
        "/api/v1/scans",
        list_scans,
        "List your scans (filters, sort, page or cursor)",
        "scans",
        scope="scans:read",
        response=schemas.ScanList,
        errors=("VALIDATION_ERROR",),
        query=queries.ListScansQuery,
    ),
    Operation(
        "GET",
        "/api/v1/scans/{scan_id}",
        get_scan,
        "Scan status, progress and counts so far",
        "scans",
        scope="scans:read",
        response=schemas.ScanSummary,
        errors=("SCAN_NOT_FOUND",),
    ),
    Operation(
        "DELETE",
        "/api/v1/scans/{scan_id}",
        cancel_scan,
        "Cancel a queued or running scan",
        "scans",
        scope="scans:write",
        response=schemas.ScanSummary,
        errors=("SCAN_NOT_FOUND",),
    ),
    Operation(
        "GET",
        "/api/v1/scans/{scan_id}/results",
        scan_results,
        "Every port, service, TLS audit and OS hint",
        "scans",
        scope="scans:read",
        response=schemas.ScanResults,
        errors=("SCAN_NOT_FOUND",),
    ),
    Operation(
        "DELETE",
        "/api/v1/scans/{scan_id}/results",
        delete_results,
        "Delete a finished scan's results",
        "scans",
        scope="scans:write",
        response=schemas.DeletedResults,
        errors=("SCAN_NOT_FOUND", "SCAN_NOT_FINISHED"),
    ),
    Operation(
        "GET",
        "/api/v1/scans/{scan_id}/export",
        export_scan,
        "Download results as JSON or CSV",
        "scans",
        scope="scans:read",
        response=schemas.ScanResults,
        raw_response=("application/json", "text/csv"),
        query=queries.ExportQuery,
        errors=("SCAN_NOT_FOUND", "VALIDATION_ERROR"),
    ),
    Operation(
        "GET",
        "/api/v1/scans/{scan_id}/stream",
        scan_stream,
        "Server-sent events: progress, port_found, service_detected, complete, error",
        "scans",
        scope="scans:read",
        raw_response="text/event-stream",
        errors=("SCAN_NOT_FOUND", "VALIDATION_ERROR", "CONCURRENT_LIMIT_EXCEEDED"),
        query=queries.StreamQuery,
        headers=queries.StreamHeaders,
    ),
)
