"""Domain errors and how they cross the gRPC boundary.

Services raise subclasses of :class:`RampartError`. The server interceptor sends each as the
standard rich status (grpc's ``examples/python/errors``): a ``google.rpc.Status`` in the
``grpc-status-details-bin`` trailer carrying ``google.rpc.ErrorInfo{reason=<public code>,
domain="rampart", metadata=<details>}``, which grpcurl and any language's client can read.
The gateway reads it back into the public error envelope. A class's gRPC status comes from
the catalogue entry of its public code, so the two never disagree.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import grpc
from google.rpc.error_details_pb2 import ErrorInfo
from google.rpc.status_pb2 import Status

from rampart.lib.catalogue import ERROR_DOMAIN, error_code

STATUS_DETAILS_KEY = "grpc-status-details-bin"
# ErrorInfo.metadata is map<string, string>: values that are not strings travel as JSON text,
# and this entry lists their keys so that they (and only they) are decoded back.
JSON_KEYS = "json_keys"


class RampartError(Exception):
    """Base of every error a service reports on purpose."""

    grpc_code: ClassVar[grpc.StatusCode] = grpc.StatusCode.INTERNAL
    public_code: ClassVar[str] = "INTERNAL_ERROR"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        entry = error_code(cls.public_code)  # an unknown code fails at import, not at runtime
        if "public_code" in cls.__dict__ and "grpc_code" not in cls.__dict__:
            cls.grpc_code = entry.grpc

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def status(self) -> Status:
        """This error as a google.rpc.Status carrying its ErrorInfo."""
        return rich_status(self.grpc_code, self.public_code, self.message, self.details)

    def trailing_metadata(self) -> tuple[tuple[str, bytes], ...]:
        return ((STATUS_DETAILS_KEY, self.status().SerializeToString()),)


class InvalidArgument(RampartError):
    public_code = "VALIDATION_ERROR"


class NotFound(RampartError):
    public_code = "NOT_FOUND"


class AlreadyExists(RampartError):
    public_code = "CONFLICT"


class PermissionDenied(RampartError):
    public_code = "INSUFFICIENT_PERMISSIONS"


class Unauthenticated(RampartError):
    public_code = "INVALID_API_KEY"


class ResourceExhausted(RampartError):
    public_code = "RATE_LIMIT_EXCEEDED"


class FailedPrecondition(RampartError):
    grpc_code = grpc.StatusCode.FAILED_PRECONDITION  # the family's status; CONFLICT is shared
    public_code = "CONFLICT"


def encode_details(details: Mapping[str, Any]) -> dict[str, str]:
    """Details as ErrorInfo metadata: strings as they are, anything else as JSON text."""
    metadata: dict[str, str] = {}
    json_keys = []
    for key, value in details.items():
        if isinstance(value, str):
            metadata[key] = value
        else:
            metadata[key] = json.dumps(value, default=str)
            json_keys.append(key)
    if json_keys:
        metadata[JSON_KEYS] = ",".join(json_keys)
    return metadata


def decode_details(metadata: Mapping[str, str]) -> dict[str, Any]:
    """The inverse of :func:`encode_details`."""
    json_keys = set(filter(None, metadata.get(JSON_KEYS, "").split(",")))
    details: dict[str, Any] = {}
    for key, text in metadata.items():
        if key == JSON_KEYS:
            continue
        if key in json_keys:
            try:
                details[key] = json.loads(text)
            except ValueError:
                details[key] = text
        else:
            details[key] = text
    return details


def rich_status(
    grpc_code: grpc.StatusCode, public_code: str, message: str, details: Mapping[str, Any] | None = None
) -> Status:
    """A google.rpc.Status whose one detail is the ErrorInfo naming ``public_code``."""
    info = ErrorInfo(reason=public_code, domain=ERROR_DOMAIN, metadata=encode_details(details or {}))
    status = Status(code=grpc_code.value[0], message=message)
    status.details.add().Pack(info)
    return status


def error_info(status: Status | None) -> tuple[str | None, dict[str, Any]]:
    """The public code and details a Rampart ErrorInfo in ``status`` carries, if any."""
    for detail in status.details if status is not None else ():
        info = ErrorInfo()
        if detail.Unpack(info) and info.domain == ERROR_DOMAIN:  # False for other detail types
            return info.reason, decode_details(info.metadata)
    return None, {}


def error_from_metadata(
    metadata: Sequence[tuple[str, str | bytes]] | None,
) -> tuple[str | None, Mapping[str, Any]]:
    """Read the public code and details a service attached to a failed call's trailers."""
    for key, value in metadata or ():
        if key == STATUS_DETAILS_KEY and isinstance(value, bytes):
            status = Status()
            try:
                status.ParseFromString(value)
            except ValueError:  # DecodeError is a ValueError
                return None, {}
            return error_info(status)
    return None, {}
