"""The assistant's handlers: decode, call ai-service with the caller's owner, encode.

Answers come whole as the JSON envelope, or as server-sent events when the client sends
``Accept: text/event-stream``: ``chunk`` events carrying the text a line at a time, then one
``done`` event carrying the citations (and the rest of the answer's fields).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from sse_starlette import EventSourceResponse
from starlette.requests import Request
from starlette.responses import Response

from rampart.ai.v1 import ai_pb2
from rampart.common.v1 import common_pb2
from rampart.lib.enums import enum_of
from rampart_gateway.api.ai import views
from rampart_gateway.api.ai.schemas import AskRequest, ExplainRequest, HistoryQuery, ReportRequest
from rampart_gateway.envelope import ok, request_id_of
from rampart_gateway.inputs import read_json, read_query
from rampart_gateway.operations import caller
from rampart_gateway.principal import Principal

TIMEOUT = 30.0


def limits(principal: Principal) -> ai_pb2.AiLimits:
    """The plan's assistant quotas, from the verified principal; ai-service counts against them."""
    plan = principal.plan
    return ai_pb2.AiLimits(requests_per_day=plan.ai_requests_per_day, tokens_per_day=plan.ai_tokens_per_day)


def wants_stream(request: Request) -> bool:
    return "text/event-stream" in request.headers.get("accept", "").lower()


def answer(request: Request, view: dict[str, Any]) -> Response:
    """The view whole (JSON envelope), or streamed as SSE when asked."""
    if not wants_stream(request):
        return ok(request, view)
    request_id = request_id_of(request)

    async def events() -> AsyncIterator[dict[str, str]]:
        for number, chunk in enumerate(views.chunks(view), 1):
            yield {"event": "chunk", "id": str(number), "data": json.dumps(chunk)}
        yield {"event": "done", "data": json.dumps({**views.final(view), "request_id": request_id})}

    return EventSourceResponse(events(), headers={"x-accel-buffering": "no", "x-request-id": request_id})


async def ask(request: Request) -> Response:
    principal = caller(request)
    body = await read_json(request, AskRequest)
    context = body.context
    reply = await request.state.clients.ai.Ask(
        ai_pb2.AskRequest(
            owner=principal.owner,
            limits=limits(principal),
            question=body.question,
            scan_id=context.scan_id,
            vulnerability_id=context.vulnerability_id,
            asset=context.asset,
            incident_id=context.incident_id,
        ),
        timeout=TIMEOUT,
    )
    return answer(request, views.ask(reply))


async def explain(request: Request) -> Response:
    principal = caller(request)
    body = await read_json(request, ExplainRequest)
    reply = await request.state.clients.ai.Explain(
        ai_pb2.ExplainRequest(
            owner=principal.owner,
            limits=limits(principal),
            concept=body.concept,
            level=enum_of(ai_pb2.ExplainLevel, body.level),
            scan_id=body.scan_id,
        ),
        timeout=TIMEOUT,
    )
    return answer(request, views.explain(reply))


async def report(request: Request) -> Response:
    principal = caller(request)
    body = await read_json(request, ReportRequest)
    reply = await request.state.clients.ai.GenerateReport(
        ai_pb2.GenerateReportRequest(
            owner=principal.owner,
            limits=limits(principal),
            scan_id=body.scan_id,
            report_type=enum_of(ai_pb2.ReportType, body.report_type),
            include_sections=list(dict.fromkeys(body.include_sections)),
        ),
        timeout=TIMEOUT,
    )
    return answer(request, views.report(reply))


async def history(request: Request) -> Response:
    query = read_query(request, HistoryQuery)
    reply = await request.state.clients.ai.ListHistory(
        ai_pb2.ListHistoryRequest(
            owner=caller(request).owner,
            page=common_pb2.PageRequest(per_page=query.per_page, cursor=query.cursor),
        ),
        timeout=TIMEOUT,
    )
    return ok(request, views.history_page(reply, query.per_page))


async def history_entry(request: Request) -> Response:
    reply = await request.state.clients.ai.GetHistoryEntry(
        ai_pb2.GetHistoryEntryRequest(
            owner=caller(request).owner, history_id=request.path_params["history_id"]
        ),
        timeout=TIMEOUT,
    )
    return ok(request, views.history_entry(reply))
