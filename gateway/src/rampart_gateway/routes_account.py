"""Accounts, tokens, API keys, stream tickets, profile and stats."""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from rampart.auth.v1 import auth_pb2
from rampart.common.v1 import common_pb2
from rampart.lib.ids import to_timestamp, utcnow
from rampart.scan.v1 import scan_pb2
from rampart_gateway import queries, schemas, views
from rampart_gateway.envelope import metadata, ok
from rampart_gateway.errors import ApiError
from rampart_gateway.operations import Operation, read_json, require
from rampart_gateway.queries import read_query

TIMEOUT = 10.0
MODES = {"live": common_pb2.KEY_MODE_LIVE, "test": common_pb2.KEY_MODE_TEST}


async def register(request: Request) -> Response:
    body = await read_json(request, schemas.RegisterRequest)
    reply = await request.state.clients.auth.Register(
        auth_pb2.RegisterRequest(
            email=body.email, password=body.password, organization_name=body.organization_name
        ),
        timeout=TIMEOUT,
    )
    data = {
        "user_id": reply.user_id,
        "org_id": reply.org_id,
        "key_id": reply.api_key.key.key_id,
        "api_key": reply.api_key.secret,
        "expires_at": views.when(reply.api_key.key.expires_at),
    }
    return ok(request, data, status_code=201)


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
    token = {
        "access_token": reply.access_token,
        "token_type": reply.token_type,
        "expires_in": reply.expires_in,
    }
    # OAuth2 clients read the token fields at the top level; the envelope is kept beside them.
    body = {**token, "success": True, "data": token, "metadata": metadata(request)}
    return JSONResponse(body, headers={"cache-control": "no-store", "pragma": "no-cache"})


async def stream_ticket(request: Request) -> Response:
    principal = require(request)
    body = await read_json(request, schemas.StreamTicketRequest)
    reply = await request.state.clients.auth.IssueStreamTicket(
        auth_pb2.IssueStreamTicketRequest(owner=principal.owner, scope=body.scope), timeout=TIMEOUT
    )
    return ok(request, {"ticket": reply.ticket, "expires_in": reply.expires_in}, status_code=201)


async def list_keys(request: Request) -> Response:
    principal = require(request, "keys:manage")
    include_revoked = read_query(request, queries.ListKeysQuery).include_revoked
    reply = await request.state.clients.auth.ListApiKeys(
        auth_pb2.ListApiKeysRequest(owner=principal.owner, include_revoked=include_revoked),
        timeout=TIMEOUT,
    )
    items = [views.api_key(key) for key in reply.keys]
    return ok(request, {"items": items, "total": len(items)})


async def create_key(request: Request) -> Response:
    principal = require(request, "keys:manage")
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
    principal = require(request, "keys:manage")
    reply = await request.state.clients.auth.RevokeApiKey(
        auth_pb2.RevokeApiKeyRequest(owner=principal.owner, key_id=request.path_params["key_id"]),
        timeout=TIMEOUT,
    )
    return ok(request, views.api_key(reply))


async def rotate_key(request: Request) -> Response:
    principal = require(request, "keys:manage")
    reply = await request.state.clients.auth.RotateApiKey(
        auth_pb2.RotateApiKeyRequest(owner=principal.owner, key_id=request.path_params["key_id"]),
        timeout=TIMEOUT,
    )
    return ok(request, views.created_key(reply), status_code=201)


def start_of_day() -> datetime:
    return utcnow().replace(hour=0, minute=0, second=0, microsecond=0)


async def profile(request: Request) -> Response:
    principal = require(request)
    reply, usage = await request.state.account_cache.profile_and_usage(principal, start_of_day())
    decision = getattr(request.state, "rate", None)
    window = decision if decision is not None and decision.scope == "org" else None
    window = window or await request.state.limits.usage(principal)
    requests_used = (window.limit - window.remaining) if window else 0
    data = {
        "user_id": reply.user_id,
        "email": reply.email,
        "organization": {"id": reply.org_id, "name": reply.organization_name},
        "plan": views.plan(reply.plan),
        "credential": {
            "type": principal.via,
            "mode": views.mode_name(reply.mode),
            "key_id": reply.key_id,
        },
        "usage": {
            "requests_this_hour": {
                "used": requests_used,
                "limit": reply.plan.requests_per_hour,
                "remaining": window.remaining if window else None,
                "reset": window.reset if window else None,
            },
            "scans_today": {"used": usage.scans_since, "limit": reply.plan.scans_per_day},
            "concurrent_scans": {"used": usage.active_scans, "limit": reply.plan.concurrent_scans},
        },
    }
    return ok(request, data)


async def stats(request: Request) -> Response:
    principal = require(request)
    clients = request.state.clients
    usage = await clients.scan.GetUsage(
        scan_pb2.GetUsageRequest(owner=principal.owner, since=to_timestamp(start_of_day())),
        timeout=TIMEOUT,
    )
    keys = await clients.auth.ListApiKeys(auth_pb2.ListApiKeysRequest(owner=principal.owner), timeout=TIMEOUT)
    data = {
        "scans": {
            "total": usage.scans_total,
            "today": usage.scans_since,
            "active": usage.active_scans,
            "by_status": dict(usage.by_status),
        },
        "api_keys": {"active": len(keys.keys)},
    }
    return ok(request, data)


OPERATIONS = (
    Operation(
        "POST",
        "/api/v1/auth/register",
        register,
        "Create an account and a first live API key",
        "auth",
        auth=False,
        body=schemas.RegisterRequest,
        response=schemas.RegisterResponse,
        status=201,
        errors=("VALIDATION_ERROR", "EMAIL_TAKEN", "RATE_LIMIT_EXCEEDED", "SERVICE_BUSY"),
    ),
    Operation(
        "POST",
        "/api/v1/auth/token",
        issue_token,
        "OAuth2 password grant: exchange credentials for a JWT",
        "auth",
        auth=False,
        response=schemas.TokenResponse,
        form={
            "username": "account email",
            "password": "account password",
            "grant_type": "password (optional)",
            "scope": "space-separated scopes (optional)",
        },
        errors=("VALIDATION_ERROR", "INVALID_API_KEY", "RATE_LIMIT_EXCEEDED", "SERVICE_BUSY"),
    ),
    Operation(
        "POST",
        "/api/v1/auth/stream-ticket",
        stream_ticket,
        "A single-use ticket for WebSocket/SSE URLs (60 s)",
        "auth",
        body=schemas.StreamTicketRequest,
        response=schemas.StreamTicket,
        status=201,
    ),
    Operation(
        "GET",
        "/api/v1/api-keys",
        list_keys,
        "List the organisation's API keys",
        "api-keys",
        scope="keys:manage",
        response=schemas.ApiKeyList,
        query=queries.ListKeysQuery,
    ),
    Operation(
        "POST",
        "/api/v1/api-keys",
        create_key,
        "Create an API key (live or test)",
        "api-keys",
        scope="keys:manage",
        body=schemas.CreateApiKeyRequest,
        response=schemas.CreatedApiKey,
        status=201,
        errors=("VALIDATION_ERROR",),
    ),
    Operation(
        "DELETE",
        "/api/v1/api-keys/{key_id}",
        revoke_key,
        "Revoke an API key",
        "api-keys",
        scope="keys:manage",
        response=schemas.ApiKey,
        errors=("NOT_FOUND",),
    ),
    Operation(
        "POST",
        "/api/v1/api-keys/{key_id}/rotate",
        rotate_key,
        "Replace an API key with a new secret; the old one is revoked",
        "api-keys",
        scope="keys:manage",
        response=schemas.CreatedApiKey,
        status=201,
        errors=("NOT_FOUND",),
    ),
    Operation(
        "GET",
        "/api/v1/user/profile",
        profile,
        "The caller, organisation, plan and usage",
        "account",
        response=schemas.Profile,
    ),
    Operation("GET", "/api/v1/stats", stats, "The caller's own counts", "account", response=schemas.Stats),
)
