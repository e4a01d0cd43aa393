"""Domain errors and how they cross the gRPC boundary.

Services raise subclasses of :class:`RampartError`; the server interceptor turns them into
a gRPC status plus trailing metadata carrying the public error code and details, and the
gateway turns that back into the public error envelope.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import grpc

ERROR_CODE_KEY = "rampart-error-code"
ERROR_DETAILS_KEY = "rampart-error-details"


class RampartError(Exception):
    """Base of every error a service reports on purpose."""

    grpc_code: ClassVar[grpc.StatusCode] = grpc.StatusCode.INTERNAL
    public_code: ClassVar[str] = "INTERNAL_ERROR"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def trailing_metadata(self) -> tuple[tuple[str, str], ...]:
        return (
            (ERROR_CODE_KEY, self.public_code),
            (ERROR_DETAILS_KEY, json.dumps(self.details, default=str)),
        )


class InvalidArgument(RampartError):
    grpc_code = grpc.StatusCode.INVALID_ARGUMENT
    public_code = "VALIDATION_ERROR"


class NotFound(RampartError):
    grpc_code = grpc.StatusCode.NOT_FOUND
    public_code = "NOT_FOUND"


class AlreadyExists(RampartError):
    grpc_code = grpc.StatusCode.ALREADY_EXISTS
    public_code = "CONFLICT"


class PermissionDenied(RampartError):
    grpc_code = grpc.StatusCode.PERMISSION_DENIED
    public_code = "INSUFFICIENT_PERMISSIONS"


class Unauthenticated(RampartError):
    grpc_code = grpc.StatusCode.UNAUTHENTICATED
    public_code = "INVALID_API_KEY"


class ResourceExhausted(RampartError):
    grpc_code = grpc.StatusCode.RESOURCE_EXHAUSTED
    public_code = "RATE_LIMIT_EXCEEDED"


class FailedPrecondition(RampartError):
    grpc_code = grpc.StatusCode.FAILED_PRECONDITION
    public_code = "CONFLICT"


def error_from_metadata(
    metadata: Sequence[tuple[str, str | bytes]] | None,
) -> tuple[str | None, Mapping[str, Any]]:
    """Read the public code and details a service attached to a failed call."""
    code: str | None = None
    details: Mapping[str, Any] = {}
    for key, value in metadata or ():
        text = value.decode() if isinstance(value, bytes) else value
        if key == ERROR_CODE_KEY:
            code = text
        elif key == ERROR_DETAILS_KEY:
            try:
                loaded = json.loads(text)
            except ValueError:
                continue
            if isinstance(loaded, dict):
                details = loaded
    return code, details
