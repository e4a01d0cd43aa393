"""Identifiers and timestamps used across services."""

from __future__ import annotations

import secrets
import string
from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp

_ALPHABET = string.ascii_lowercase + string.digits
REQUEST_ID_HEADER = "x-request-id"
_MAX_REQUEST_ID = 128
_REQUEST_ID_CHARS = frozenset(string.ascii_letters + string.digits + "-_.:")


def new_id(prefix: str, size: int = 20) -> str:
    """A prefixed random identifier, e.g. ``scan_k3j…``; ~103 bits for size 20.

    One draw of 6 bits per character from the OS generator, spelled in base 36: a call per
    id rather than per character (request ids are made on every request).
    """
    value = secrets.randbits(size * 6)
    chars = []
    for _ in range(size):
        value, digit = divmod(value, 36)
        chars.append(_ALPHABET[digit])
    return f"{prefix}_{''.join(chars)}"


def new_request_id() -> str:
    return new_id("req", 16)


def clean_request_id(value: str | None) -> str:
    """Accept a caller's request id only if it is short and plainly printable."""
    if value and len(value) <= _MAX_REQUEST_ID and set(value) <= _REQUEST_ID_CHARS:
        return value
    return new_request_id()


def utcnow() -> datetime:
    return datetime.now(UTC)


def to_timestamp(value: datetime | None) -> Timestamp | None:
    if value is None:
        return None
    stamp = Timestamp()
    stamp.FromDatetime(value if value.tzinfo else value.replace(tzinfo=UTC))
    return stamp


def from_timestamp(stamp: Timestamp) -> datetime | None:
    if not stamp.seconds and not stamp.nanos:
        return None
    return stamp.ToDatetime(tzinfo=UTC)


def iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
