"""One place that turns every failure into the public error envelope."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import grpc
import structlog
from google.rpc.status_pb2 import Status
from grpc_status.rpc_status import from_call
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from rampart.lib.catalogue import CODE_FOR_GRPC_STATUS, CODE_FOR_HTTP_STATUS, ERRORS
from rampart.lib.errors import error_info
from rampart_gateway.envelope import fail

log = structlog.get_logger(__name__)

# Public error codes answered over HTTP, and their status (rampart.lib.catalogue).
STATUS_BY_CODE: Mapping[str, int] = {
    code.name: code.http for code in ERRORS.values() if code.http is not None
}


class ApiError(Exception):
    """An error the gateway itself answers with, in the envelope."""

    def __init__(
        self,
        code: str,
        message: str,
        details: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        if code not in STATUS_BY_CODE:  # a programming error, never a 400: answer 500, logged
            log.error("error code not in the catalogue", code=code, reason=message)
            code, message, details = "INTERNAL_ERROR", "internal error", None
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = dict(details or {})
        self.headers = dict(headers or {})
        self.status_code = STATUS_BY_CODE[code]


def grpc_to_api_error(error: grpc.aio.AioRpcError) -> ApiError:
    """Map a failed service call; the ErrorInfo reason a service sent wins over the status."""
    public_code, details = error_info(_rich_status(error))
    code = public_code or CODE_FOR_GRPC_STATUS.get(error.code(), "INTERNAL_ERROR")
    if code == "INTERNAL_ERROR" or error.code() == grpc.StatusCode.UNAVAILABLE:
        message = "an internal service is unavailable" if code != "INTERNAL_ERROR" else ("internal error")
        return ApiError(code, message)
    headers = {}
    retry_after = details.get("retry_after")
    # A service shedding load, or refusing over a quota, says when to come back.
    if code == "SERVICE_BUSY" or (STATUS_BY_CODE.get(code) == 429 and isinstance(retry_after, int)):
        headers["retry-after"] = str(retry_after if isinstance(retry_after, int) and retry_after > 0 else 1)
    return ApiError(code, error.details() or code.lower(), details, headers)


def _rich_status(error: grpc.aio.AioRpcError) -> Status | None:
    """The google.rpc.Status in the call's trailers, read with the standard decoder."""
    try:
        status: Status | None = from_call(error)
    except ValueError as mismatch:  # malformed, or its code/message disagree with the call's
        log.error("unreadable error status from a service", reason=str(mismatch))
        return None
    return status


async def handle_api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return fail(request, exc.status_code, exc.code, exc.message, exc.details, exc.headers)


async def handle_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = CODE_FOR_HTTP_STATUS.get(exc.status_code, "INTERNAL_ERROR")
    return fail(request, exc.status_code, code, str(exc.detail), headers=exc.headers)


async def handle_grpc_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, grpc.aio.AioRpcError)
    api_error = grpc_to_api_error(exc)
    if api_error.status_code >= 500:
        log.error("service call failed", grpc_code=exc.code().name, grpc_details=exc.details())
    return fail(
        request,
        api_error.status_code,
        api_error.code,
        api_error.message,
        api_error.details,
        api_error.headers,
    )


async def handle_unexpected(request: Request, exc: Exception) -> Response:
    log.error("unhandled error", path=request.url.path, exc_info=exc)
    return fail(request, 500, "INTERNAL_ERROR", "internal error")


EXCEPTION_HANDLERS = {
    ApiError: handle_api_error,
    HTTPException: handle_http_error,
    grpc.aio.AioRpcError: handle_grpc_error,
    Exception: handle_unexpected,
}
