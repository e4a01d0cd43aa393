"""Threat analysis (analyse, list, read) and the organisation's allow/deny lists: decode, call
threat-service, encode.

Each route's credential and scope are checked before it runs (``operations.Operation``).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from rampart.lib.ids import iso, utcnow
from rampart.threat.v1 import threat_pb2
from rampart_gateway.api.scans.routes import create_request, idempotency_key
from rampart_gateway.api.threats import scanning, views
from rampart_gateway.api.threats.queries import ListAnalysesQuery, ListEntriesQuery, ThreatScanQuery
from rampart_gateway.api.threats.schemas import AnalyzeRequest, ListEntryRequest
from rampart_gateway.envelope import ok
from rampart_gateway.inputs import read_json, read_query
from rampart_gateway.operations import caller

TIMEOUT = 30.0  # above the sandbox mode's own budget, which answers 422 first
KINDS = {name: value for value, name in views.KINDS.items() if name != "unspecified"}
MODES = {name: value for value, name in views.MODES.items() if name != "unspecified"}
VERDICTS = {name: value for value, name in views.VERDICTS.items() if name != "unspecified"}


async def analyze(request: Request) -> Response:
    principal = caller(request)
    body = await read_json(request, AnalyzeRequest)
    reply = await request.state.clients.threat.AnalyzeThreat(
        threat_pb2.AnalyzeThreatRequest(
            owner=principal.owner,
            target=body.target,
            kind=KINDS[body.type] if body.type else threat_pb2.INDICATOR_KIND_UNSPECIFIED,
            mode=MODES[body.mode],
            metadata=body.metadata,
        ),
        timeout=TIMEOUT,
    )
    return ok(request, views.analysis(reply), status_code=201)


async def threat_scan(request: Request) -> Response:
    """Start a scan, wait for its findings, answer (200) or say where to poll (202)."""
    principal = caller(request)
    query = read_query(request, ThreatScanQuery)
    body = scanning.scan_body(query)
    message = create_request(body, principal, idempotency_key(request), request.state.request_id)
    scan = await request.state.clients.scan.CreateScan(message, timeout=TIMEOUT)
    grace = request.state.settings.stream_findings_grace
    followed = await scanning.follow(request.state.broker, scan, float(query.wait), grace)
    data = scanning.answer(scan.scan_id, followed, query.include_vulns, iso(utcnow()))
    if followed.settled or followed.ended:
        return ok(request, data)
    response = ok(request, data, status_code=202)
    response.headers["location"] = f"/api/v1/scans/{scan.scan_id}/results"
    return response


async def list_analyses(request: Request) -> Response:
    principal = caller(request)
    query = read_query(request, ListAnalysesQuery)
    reply = await request.state.clients.threat.ListAnalyses(
        threat_pb2.ListAnalysesRequest(
            owner=principal.owner,
            page_size=query.per_page,
            page_token=query.cursor,
            verdict=VERDICTS[query.classification]
            if query.classification
            else threat_pb2.VERDICT_UNSPECIFIED,
        ),
        timeout=TIMEOUT,
    )
    return ok(request, views.page(reply))


async def get_analysis(request: Request) -> Response:
    principal = caller(request)
    reply = await request.state.clients.threat.GetAnalysis(
        threat_pb2.GetAnalysisRequest(owner=principal.owner, analysis_id=request.path_params["analysis_id"]),
        timeout=TIMEOUT,
    )
    return ok(request, views.analysis(reply))


async def add_list_entry(request: Request) -> Response:
    principal = caller(request)
    body = await read_json(request, ListEntryRequest)
    reply = await request.state.clients.threat.AddIndicatorListEntry(
        threat_pb2.AddIndicatorListEntryRequest(
            owner=principal.owner, list=body.list, value=body.value, note=body.note
        ),
        timeout=TIMEOUT,
    )
    return ok(request, views.list_entry(reply), status_code=201)


async def list_list_entries(request: Request) -> Response:
    principal = caller(request)
    query = read_query(request, ListEntriesQuery)
    reply = await request.state.clients.threat.ListIndicatorListEntries(
        threat_pb2.ListIndicatorListEntriesRequest(owner=principal.owner, list=query.list or ""),
        timeout=TIMEOUT,
    )
    return ok(request, views.list_entries(reply))


async def remove_list_entry(request: Request) -> Response:
    principal = caller(request)
    reply = await request.state.clients.threat.RemoveIndicatorListEntry(
        threat_pb2.RemoveIndicatorListEntryRequest(
            owner=principal.owner, entry_id=request.path_params["entry_id"]
        ),
        timeout=TIMEOUT,
    )
    return ok(request, views.list_entry(reply))
