"""The public response envelope: ``{success, data | error, metadata}``, and its timestamps."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from google.protobuf.timestamp_pb2 import Timestamp
from starlette.requests import Request
from starlette.responses import JSONResponse

from rampart.lib.ids import from_timestamp, iso, new_request_id, utcnow


def when(stamp: Timestamp) -> str | None:
    """A protobuf timestamp as public JSON: ISO 8601 UTC, or None when unset."""
    value = from_timestamp(stamp)
    return iso(value) if value else None


def request_id_of(request: Request) -> str:
    return getattr(request.state, "request_id", None) or new_request_id()


def metadata(request: Request) -> dict[str, str]:
    return {"timestamp": iso(utcnow()), "request_id": request_id_of(request)}


class FastJSONResponse(JSONResponse):
    """JSONResponse rendered by orjson (several times faster than the json module)."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def ok(request: Request, data: Any, status_code: int = 200) -> JSONResponse:
    body = {"success": True, "data": data, "metadata": metadata(request)}
    return FastJSONResponse(body, status_code=status_code)


def fail(
    request: Request,
    status_code: int,
    code: str,
    message: str,
    details: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
    **error_fields: Any,
) -> JSONResponse:
    """The error envelope; ``error_fields`` sit beside code/message (seed 000's retry_after)."""
    error = {"code": code, "message": message, **error_fields, "details": dict(details or {})}
    body = {"success": False, "error": error, "metadata": metadata(request)}
    return FastJSONResponse(body, status_code=status_code, headers=headers)
