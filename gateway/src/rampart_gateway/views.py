"""Protobuf messages as public JSON."""

from __future__ import annotations

from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp

from rampart.auth.v1 import auth_pb2
from rampart.common.v1 import common_pb2
from rampart.lib.ids import from_timestamp, iso


def when(stamp: Timestamp) -> str | None:
    value = from_timestamp(stamp)
    return iso(value) if value else None


def mode_name(mode: int) -> str:
    return "test" if mode == common_pb2.KEY_MODE_TEST else "live"


def api_key(key: auth_pb2.ApiKey) -> dict[str, Any]:
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
    return {**api_key(created.key), "api_key": created.secret}


def plan(limits: auth_pb2.Plan) -> dict[str, Any]:
    return {
        "name": limits.name,
        "requests_per_hour": limits.requests_per_hour,
        "scans_per_day": limits.scans_per_day,
        "concurrent_scans": limits.concurrent_scans,
        "concurrent_streams": limits.concurrent_streams,
    }
