"""Account messages as public JSON. A key's secret appears only where it is handed out."""

from __future__ import annotations

from typing import Any

from rampart.ai.v1 import ai_pb2
from rampart.auth.v1 import auth_pb2
from rampart.common.v1 import common_pb2
from rampart.scan.v1 import scan_pb2
from rampart_gateway.envelope import when
from rampart_gateway.ratelimit import Decision


def mode_name(mode: int) -> str:
    return "test" if mode == common_pb2.KEY_MODE_TEST else "live"


def api_key(key: auth_pb2.ApiKey) -> dict[str, Any]:
    """A key's metadata: never its secret."""
    return {
        "key_id": key.key_id,
        "name": key.name,
        "mode": mode_name(key.mode),
        "prefix": key.prefix,
        "scopes": list(key.scopes),
        "created_at": when(key.created_at),
        "last_used_at": when(key.last_used_at),
        "expires_at": when(key.expires_at),
        "revoked_at": when(key.revoked_at),
    }


def created_key(created: auth_pb2.CreatedApiKey) -> dict[str, Any]:
    """A key just created or rotated, with its secret (shown this once)."""
    return {**api_key(created.key), "api_key": created.secret}


def registered(reply: auth_pb2.RegisterResponse) -> dict[str, Any]:
    return {
        "user_id": reply.user_id,
        "org_id": reply.org_id,
        "key_id": reply.api_key.key.key_id,
        "api_key": reply.api_key.secret,
        "expires_at": when(reply.api_key.key.expires_at),
    }


def token(reply: auth_pb2.TokenResponse) -> dict[str, Any]:
    return {
        "access_token": reply.access_token,
        "token_type": reply.token_type,
        "expires_in": reply.expires_in,
    }


def plan(limits: auth_pb2.Plan) -> dict[str, Any]:
    return {
        "name": limits.name,
        "requests_per_hour": limits.requests_per_hour,
        "scans_per_day": limits.scans_per_day,
        "concurrent_scans": limits.concurrent_scans,
        "concurrent_streams": limits.concurrent_streams,
        "ai_requests_per_day": limits.ai_requests_per_day,
        "ai_tokens_per_day": limits.ai_tokens_per_day,
    }


def assistant_counters(plan: auth_pb2.Plan, assistant: ai_pb2.Usage | None) -> dict[str, Any]:
    """Today's assistant requests and provider tokens (the organisation's, UTC day); {} if unknown."""
    if assistant is None:
        return {}
    reset = assistant.resets_at.seconds or None
    return {
        "assistant_requests_today": {
            "used": assistant.requests_today,
            "limit": plan.ai_requests_per_day,
            "remaining": max(0, plan.ai_requests_per_day - assistant.requests_today)
            if plan.ai_requests_per_day
            else None,
            "reset": reset,
        },
        "assistant_tokens_today": {
            "used": assistant.tokens_today,
            "limit": plan.ai_tokens_per_day,
            "remaining": max(0, plan.ai_tokens_per_day - assistant.tokens_today)
            if plan.ai_tokens_per_day
            else None,
            "reset": reset,
        },
    }


def profile(
    reply: auth_pb2.Profile,
    usage: scan_pb2.Usage,
    via: str,
    window: Decision | None,
    assistant: ai_pb2.Usage | None = None,
) -> dict[str, Any]:
    """The caller, organisation, plan and usage; ``window`` is the organisation's hourly count."""
    return {
        "user_id": reply.user_id,
        "email": reply.email,
        "organization": {"id": reply.org_id, "name": reply.organization_name},
        "plan": plan(reply.plan),
        "credential": {"type": via, "mode": mode_name(reply.mode), "key_id": reply.key_id},
        "usage": {
            "requests_this_hour": {
                "used": (window.limit - window.remaining) if window else 0,
                "limit": reply.plan.requests_per_hour,
                "remaining": window.remaining if window else None,
                "reset": window.reset if window else None,
            },
            "scans_today": {"used": usage.scans_since, "limit": reply.plan.scans_per_day},
            "concurrent_scans": {"used": usage.active_scans, "limit": reply.plan.concurrent_scans},
            **assistant_counters(reply.plan, assistant),
        },
    }


def stats(
    usage: scan_pb2.Usage, keys: auth_pb2.ListApiKeysResponse, assistant: ai_pb2.Usage | None = None
) -> dict[str, Any]:
    return {
        "scans": {
            "total": usage.scans_total,
            "today": usage.scans_since,
            "active": usage.active_scans,
            "by_status": dict(usage.by_status),
        },
        "api_keys": {"active": len(keys.keys)},
        "assistant": None
        if assistant is None
        else {
            "requests_today": assistant.requests_today,
            "tokens_today": assistant.tokens_today,
            "history_entries": assistant.history_entries,
        },
    }
