"""Accounts, tokens, stream tickets, API keys, profile and stats: decode, call auth/scan, encode.

Each route's credential and scope are checked before it runs (``operations.Operation``).
"""

from __future__ import annotations

from datetime import UTC, datetime

import grpc
import structlog
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from rampart.ai.v1 import ai_pb2
from rampart.auth.v1 import auth_pb2
from rampart.common.v1 import common_pb2
from rampart.lib.ids import to_timestamp, utcnow
from rampart.scan.v1 import scan_pb2
from rampart_gateway.api.account import schemas, views
from rampart_gateway.api.account.queries import ListKeysQuery
from rampart_gateway.envelope import metadata, ok
from rampart_gateway.errors import ApiError
from rampart_gateway.inputs import read_json, read_query
from rampart_gateway.operations import caller
from rampart_gateway.principal import Principal

TIMEOUT = 10.0
AI_USAGE_TIMEOUT = 2.0
log = structlog.get_logger(__name__)
MODES = {"live": common_pb2.KEY_MODE_LIVE, "test": common_pb2.KEY_MODE_TEST}


async def register(request: Request) -> Response:
    body = await read_json(request, schemas.RegisterRequest)
    reply = await request.state.clients.auth.Register(
        auth_pb2.RegisterRequest(
            email=body.email, password=body.password, organization_name=body.organization_name
        ),
        timeout=TIMEOUT,
    )
    return ok(request, views.registered(reply), status_code=201)


async def issue_token(request: Request) -> Response:
    form = await request.form(max_files=0, max_fields=10)
    username, password = form.get("username"), form.get("password")
    if not isinstance(username, str) or not isinstance(password, str) or not username or not password:
        raise ApiError(
            "VALIDATION_ERROR",
            "username and password are required form fields",
            {"field": "username" if not username else "password"},
        )
    grant_type = form.get("grant_type")
    if grant_type not in (None, "", "password"):
        raise ApiError(
            "VALIDATION_ERROR",
            "only grant_type=password is supported",
            {"field": "grant_type", "value": str(grant_type)},
        )
    scope = form.get("scope")
    reply = await request.state.clients.auth.IssueToken(
        auth_pb2.IssueTokenRequest(
            username=username, password=password, scopes=str(scope).split() if scope else []
        ),
        timeout=TIMEOUT,
    )
    token = views.token(reply)
    # OAuth2 clients read the token fields at the top level; the envelope is kept beside them.
    body = {**token, "success": True, "data": token, "metadata": metadata(request)}
    return JSONResponse(body, headers={"cache-control": "no-store", "pragma": "no-cache"})


async def stream_ticket(request: Request) -> Response:
    principal = caller(request)
    body = await read_json(request, schemas.StreamTicketRequest)
    reply = await request.state.clients.auth.IssueStreamTicket(
        auth_pb2.IssueStreamTicketRequest(owner=principal.owner, scope=body.scope), timeout=TIMEOUT
    )
    return ok(request, {"ticket": reply.ticket, "expires_in": reply.expires_in}, status_code=201)


async def list_keys(request: Request) -> Response:
    principal = caller(request)
    include_revoked = read_query(request, ListKeysQuery).include_revoked
    reply = await request.state.clients.auth.ListApiKeys(
        auth_pb2.ListApiKeysRequest(owner=principal.owner, include_revoked=include_revoked),
        timeout=TIMEOUT,
    )
    items = [views.api_key(key) for key in reply.keys]
    return ok(request, {"items": items, "total": len(items)})


async def create_key(request: Request) -> Response:
    principal = caller(request)
    body = await read_json(request, schemas.CreateApiKeyRequest)
    if body.expires_at is not None and body.expires_at.tzinfo is None:
        body.expires_at = body.expires_at.replace(tzinfo=UTC)
    message = auth_pb2.CreateApiKeyRequest(
        owner=principal.owner, name=body.name, mode=MODES[body.mode], scopes=body.scopes
    )
    if body.expires_at is not None:
        message.expires_at.FromDatetime(body.expires_at)
    reply = await request.state.clients.auth.CreateApiKey(message, timeout=TIMEOUT)
    return ok(request, views.created_key(reply), status_code=201)


async def revoke_key(request: Request) -> Response:
    principal = caller(request)
    reply = await request.state.clients.auth.RevokeApiKey(
        auth_pb2.RevokeApiKeyRequest(owner=principal.owner, key_id=request.path_params["key_id"]),
        timeout=TIMEOUT,
    )
    return ok(request, views.api_key(reply))


async def rotate_key(request: Request) -> Response:
    principal = caller(request)
    reply = await request.state.clients.auth.RotateApiKey(
        auth_pb2.RotateApiKeyRequest(owner=principal.owner, key_id=request.path_params["key_id"]),
        timeout=TIMEOUT,
    )
    return ok(request, views.created_key(reply), status_code=201)


def start_of_day() -> datetime:
    return utcnow().replace(hour=0, minute=0, second=0, microsecond=0)


async def assistant_usage(request: Request, principal: Principal) -> ai_pb2.Usage | None:
    """ai-service's count for today; None (left out of the answer) when it does not answer."""
    try:
        usage: ai_pb2.Usage = await request.state.clients.ai.GetUsage(
            ai_pb2.GetUsageRequest(owner=principal.owner), timeout=AI_USAGE_TIMEOUT
        )
    except grpc.aio.AioRpcError as error:
        log.warning("assistant usage unavailable", grpc_code=error.code().name)
        return None
    return usage


async def profile(request: Request) -> Response:
    principal = caller(request)
    reply, usage = await request.state.account_cache.profile_and_usage(principal, start_of_day())
    decision = getattr(request.state, "rate", None)
    window = decision if decision is not None and decision.scope == "org" else None
    window = window or await request.state.limits.usage(principal)
    assistant = await assistant_usage(request, principal)
    return ok(request, views.profile(reply, usage, principal.via, window, assistant))


async def stats(request: Request) -> Response:
    principal = caller(request)
    clients = request.state.clients
    usage = await clients.scan.GetUsage(
        scan_pb2.GetUsageRequest(owner=principal.owner, since=to_timestamp(start_of_day())),
        timeout=TIMEOUT,
    )
    keys = await clients.auth.ListApiKeys(auth_pb2.ListApiKeysRequest(owner=principal.owner), timeout=TIMEOUT)
    assistant = await assistant_usage(request, principal)
    return ok(request, views.stats(usage, keys, assistant))
