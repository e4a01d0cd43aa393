"""One place that turns every failure into the public error envelope."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import grpc
import structlog
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from rampart.lib.errors import error_from_metadata
from rampart_gateway.envelope import fail

log = structlog.get_logger(__name__)

# Public error codes and their HTTP status (seed 000, plus the gateway's own).
STATUS_BY_CODE = {
    "INVALID_API_KEY": 401,
    "INSUFFICIENT_PERMISSIONS": 403,
    "INVALID_TARGET": 400,
    "BAD_REQUEST": 400,
    "SCAN_NOT_FOUND": 404,
    "NOT_FOUND": 404,
    "METHOD_NOT_ALLOWED": 405,
    "CONFLICT": 409,
    "EMAIL_TAKEN": 409,
    "SCAN_ALREADY_FINISHED": 409,
    "SCAN_NOT_FINISHED": 409,
    "IDEMPOTENCY_KEY_REUSED": 409,
    "PAYLOAD_TOO_LARGE": 413,
    "TARGET_NOT_ALLOWED": 403,
    "SCAN_QUOTA_EXCEEDED": 429,
    "VALIDATION_ERROR": 422,
    "RATE_LIMIT_EXCEEDED": 429,
    "CONCURRENT_LIMIT_EXCEEDED": 429,
    "INTERNAL_ERROR": 500,
    "NOT_IMPLEMENTED": 501,
    "SERVICE_UNAVAILABLE": 503,
    "SERVICE_BUSY": 503,
    "SCAN_TIMEOUT": 504,
    "UPSTREAM_TIMEOUT": 504,
}

CODE_BY_GRPC_STATUS = {
    grpc.StatusCode.INVALID_ARGUMENT: "VALIDATION_ERROR",
    grpc.StatusCode.NOT_FOUND: "NOT_FOUND",
    grpc.StatusCode.ALREADY_EXISTS: "CONFLICT",
    grpc.StatusCode.FAILED_PRECONDITION: "CONFLICT",
    grpc.StatusCode.PERMISSION_DENIED: "INSUFFICIENT_PERMISSIONS",
    grpc.StatusCode.UNAUTHENTICATED: "INVALID_API_KEY",
    grpc.StatusCode.RESOURCE_EXHAUSTED: "RATE_LIMIT_EXCEEDED",
    grpc.StatusCode.UNIMPLEMENTED: "NOT_IMPLEMENTED",
    grpc.StatusCode.UNAVAILABLE: "SERVICE_UNAVAILABLE",
    grpc.StatusCode.DEADLINE_EXCEEDED: "UPSTREAM_TIMEOUT",
}

CODE_BY_HTTP_STATUS = {
    400: "BAD_REQUEST",
    401: "INVALID_API_KEY",
    403: "INSUFFICIENT_PERMISSIONS",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "PAYLOAD_TOO_LARGE",
    422: "VALIDATION_ERROR",
    429: "RATE_LIMIT_EXCEEDED",
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
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = dict(details or {})
        self.headers = dict(headers or {})
        self.status_code = STATUS_BY_CODE.get(code, 400)


def grpc_to_api_error(error: grpc.aio.AioRpcError) -> ApiError:
    """Map a failed service call; a service's own public code wins over the status."""
    public_code, details = error_from_metadata(list(error.trailing_metadata() or ()))
    code = public_code or CODE_BY_GRPC_STATUS.get(error.code(), "INTERNAL_ERROR")
    if code == "INTERNAL_ERROR" or error.code() == grpc.StatusCode.UNAVAILABLE:
        message = "an internal service is unavailable" if code != "INTERNAL_ERROR" else ("internal error")
        return ApiError(code, message)
    headers = {}
    if code == "SERVICE_BUSY":  # a service shedding load says when to come back
        retry_after = details.get("retry_after")
        headers["retry-after"] = str(retry_after if isinstance(retry_after, int) and retry_after > 0 else 1)
    return ApiError(code, error.details() or code.lower(), details, headers)


async def handle_api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return fail(request, exc.status_code, exc.code, exc.message, exc.details, exc.headers)


async def handle_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = CODE_BY_HTTP_STATUS.get(exc.status_code, "INTERNAL_ERROR")
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
