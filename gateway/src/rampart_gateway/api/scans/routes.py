"""Scans: create, list, read, cancel, results and delete results: decode, call scan-service, encode.

Each route's credential and scope are checked before it runs (``operations.Operation``).
Export is in ``export.py``, the live streams in ``streams.py``.
"""

from __future__ import annotations

import string

from starlette.requests import HTTPConnection, Request
from starlette.responses import Response

from rampart.common.v1 import common_pb2
from rampart.scan.v1 import scan_pb2
from rampart_gateway.api.scans import views
from rampart_gateway.api.scans.findings import counts_of, findings_of
from rampart_gateway.api.scans.queries import ListScansQuery
from rampart_gateway.api.scans.schemas import ScanCreateRequest
from rampart_gateway.envelope import ok
from rampart_gateway.errors import ApiError
from rampart_gateway.inputs import enum_field, read_json, read_query
from rampart_gateway.operations import caller
from rampart_gateway.principal import Principal

TIMEOUT = 30.0
KEY_CHARS = frozenset(string.ascii_letters + string.digits + "-_.:")
STATUS_FILTER = {name: value for value, name in views.STATUS.items() if name != "unspecified"}
FULL_SLASH_16 = 65_536  # a plan's max_hosts_per_scan of 0: the platform's cap
REPLAY_HEADER = "rampart-idempotent-replay"  # initial metadata of a CreateScan that replayed a scan


def stream_urls(request: Request, scan_id: str) -> tuple[str, str]:
    base = str(request.base_url).rstrip("/")
    ws_base = "wss" + base[5:] if base.startswith("https") else "ws" + base[4:]
    return f"{ws_base}/ws/scans/{scan_id}", f"{base}/api/v1/scans/{scan_id}/stream"


def idempotency_key(request: Request) -> str:
    """The ``Idempotency-Key`` header ("" when absent), or 422."""
    key = request.headers.get("idempotency-key", "")
    if key and (len(key) > 255 or not set(key) <= KEY_CHARS):
        raise ApiError(
            "VALIDATION_ERROR",
            "Idempotency-Key must be 1-255 of A-Z a-z 0-9 - _ . :",
            {"field": "Idempotency-Key"},
        )
    return key


def create_request(
    body: ScanCreateRequest, principal: Principal, key: str, request_id: str
) -> scan_pb2.CreateScanRequest:
    """The CreateScan call for a validated body, with the caller's plan limits."""
    options = body.options
    return scan_pb2.CreateScanRequest(
        owner=principal.owner,
        targets=body.targets if body.targets is not None else [body.target or ""],
        scan_type=enum_field(scan_pb2.ScanType, body.scan_type, "scan_type"),
        ports=body.ports or "",
        profile=enum_field(scan_pb2.ScanProfile, body.profile or "", "profile"),
        options=scan_pb2.ScanOptions(
            os_detection=options.os_detection,
            service_detection=options.service_detection,
            ssl_check=options.ssl_check,
            fast_mode=options.fast_mode,
        ),
        max_duration_seconds=max(1, round(body.max_duration * 60)) if body.max_duration else 0,
        idempotency_key=key,
        request_id=request_id,
        concurrent_limit=principal.plan.concurrent_scans,
        daily_limit=principal.plan.scans_per_day,
        rate=body.rate or 0.0,
        max_hosts_limit=principal.plan.max_hosts_per_scan or FULL_SLASH_16,
        org_rate_limit=float(principal.plan.probes_per_second),
    )


async def create_scan(request: Request) -> Response:
    principal = caller(request)
    body = await read_json(request, ScanCreateRequest)
    message = create_request(body, principal, idempotency_key(request), request.state.request_id)
    call = request.state.clients.scan.CreateScan(message, timeout=TIMEOUT)
    scan = await call
    replayed = any(k == REPLAY_HEADER for k, _ in (await call.initial_metadata()) or ())
    response = ok(request, views.created(scan, *stream_urls(request, scan.scan_id)), status_code=201)
    if replayed:
        response.headers["idempotent-replayed"] = "true"
    return response


async def list_scans(request: Request) -> Response:
    principal = caller(request)
    query = read_query(request, ListScansQuery)
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
    listed = views.page(reply)
    found = await counts_of(request, principal.owner, [scan.scan_id for scan in reply.scans])
    for item in listed["items"]:
        item.update(found[item["scan_id"]])
    return ok(request, listed)


async def fetch_scan(connection: HTTPConnection, principal: Principal, scan_id: str) -> scan_pb2.Scan:
    reply: scan_pb2.Scan = await connection.state.clients.scan.GetScan(
        scan_pb2.GetScanRequest(owner=principal.owner, scan_id=scan_id), timeout=TIMEOUT
    )
    return reply


async def fetch_results(request: Request, principal: Principal) -> scan_pb2.ScanResults:
    reply: scan_pb2.ScanResults = await request.state.clients.scan.GetScanResults(
        scan_pb2.GetScanResultsRequest(owner=principal.owner, scan_id=request.path_params["scan_id"]),
        timeout=TIMEOUT,
    )
    return reply


async def get_scan(request: Request) -> Response:
    scan = await fetch_scan(request, caller(request), request.path_params["scan_id"])
    return ok(request, views.scan(scan))


async def cancel_scan(request: Request) -> Response:
    principal = caller(request)
    reply = await request.state.clients.scan.CancelScan(
        scan_pb2.CancelScanRequest(owner=principal.owner, scan_id=request.path_params["scan_id"]),
        timeout=TIMEOUT,
    )
    return ok(request, views.scan(reply))


async def resume_scan(request: Request) -> Response:
    """Continue a cancelled, timed-out or failed scan from the shards not done (202: queued again)."""
    principal = caller(request)
    reply = await request.state.clients.scan.ResumeScan(
        scan_pb2.ResumeScanRequest(
            owner=principal.owner,
            scan_id=request.path_params["scan_id"],
            concurrent_limit=principal.plan.concurrent_scans,
        ),
        timeout=TIMEOUT,
    )
    return ok(request, views.scan(reply), status_code=202)


async def scan_results(request: Request) -> Response:
    principal = caller(request)
    results = await fetch_results(request, principal)
    view = views.results(results)
    view.update(await findings_of(request, principal.owner, results.scan.scan_id))
    return ok(request, view)


async def delete_results(request: Request) -> Response:
    principal = caller(request)
    scan_id = request.path_params["scan_id"]
    reply = await request.state.clients.scan.DeleteScanResults(
        scan_pb2.DeleteScanResultsRequest(owner=principal.owner, scan_id=scan_id), timeout=TIMEOUT
    )
    return ok(request, {"scan_id": scan_id, "deleted_ports": reply.deleted_ports})
