"""Typed query and header parameters: one model per operation parses them and documents them.

Numbers are ASCII digits only, within bounds (``str.isdigit`` also accepts superscripts and
other scripts' digits, which ``int`` then refuses or reads as numbers). Times are RFC 3339
date-times between ``EARLIEST`` and ``LATEST`` after normalising to UTC. The OpenAPI
parameters are generated from these models (``openapi.model_parameters``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar

from annotated_types import Interval
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from starlette.requests import HTTPConnection

from rampart.lib.enums import V, enum_value, enum_words
from rampart_gateway.errors import ApiError

if TYPE_CHECKING:
    from google.protobuf.internal.enum_type_wrapper import _EnumTypeWrapper

Q = TypeVar("Q", bound=BaseModel)
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
MAX_EVENT_ID = 2**63 - 1
MAX_CREDENTIAL = 2048  # longer keys, tokens and tickets are refused unread (ours are far shorter)
DIGITS = re.compile(r"[0-9]{1,19}")
RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?([Zz]|[+-][0-9]{2}:[0-9]{2})"
)


def _ascii_digits(value: object) -> object:
    if isinstance(value, str) and not DIGITS.fullmatch(value):
        raise ValueError("must be a whole number written with the digits 0-9")
    return value


def _rfc3339(value: object) -> object:
    if isinstance(value, str) and not RFC3339.fullmatch(value):
        raise ValueError("must be an RFC 3339 date-time such as 2026-01-31T12:00:00Z")
    return value


def _in_range(value: datetime) -> datetime:
    try:
        value = value.astimezone(UTC)
    except (OverflowError, ValueError):
        value = datetime.max.replace(tzinfo=UTC)  # refused below: outside the range
    if not EARLIEST <= value <= LATEST:
        raise ValueError("must be between 1970-01-01T00:00:00Z and 2100-01-01T00:00:00Z")
    return value


Instant = Annotated[datetime, BeforeValidator(_rfc3339), AfterValidator(_in_range)]
INSTANT = "RFC 3339 date-time from 1970-01-01T00:00:00Z to 2100-01-01T00:00:00Z"
Whole = Annotated[int, BeforeValidator(_ascii_digits)]
EventId = Annotated[int, Interval(ge=0, le=MAX_EVENT_ID), BeforeValidator(_ascii_digits)]
EVENT_ID = "resume after this event id (the id of the last event received)"
Credential = Annotated[str, Field(max_length=MAX_CREDENTIAL)]


class Params(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class ListScansQuery(Params):
    target: str = Field(default="", max_length=255, description="scans of this target")
    status: Literal["queued", "running", "completed", "failed", "cancelled", "timeout"] | None = None
    created_after: Instant | None = Field(default=None, description=f"created at or after; {INSTANT}")
    created_before: Instant | None = Field(default=None, description=f"created before; {INSTANT}")
    sort: Literal["created_at", "status", "completed_at"] = "created_at"
    order: Literal["desc", "asc"] = "desc"
    page: Whole = Field(default=1, ge=1, le=100_000, description="1-based page number")
    per_page: Whole = Field(default=20, ge=1, le=100, description="items per page")
    cursor: str = Field(
        default="",
        max_length=512,
        pattern=r"^[A-Za-z0-9_-]*$",
        description="next_cursor from the previous page (created_at order only)",
    )


class ExportQuery(Params):
    format: Literal["json", "csv"] = Field(
        default="json", description="json (an object) or csv; SARIF, HTML and PDF come with reports"
    )


class StreamQuery(Params):
    api_key: Credential | None = Field(default=None, description="for browsers; prefer ticket")
    ticket: Credential | None = Field(default=None, description="single-use stream ticket")
    last_event_id: EventId | None = Field(default=None, description=EVENT_ID)


class StreamHeaders(Params):
    last_event_id: EventId | None = Field(default=None, alias="Last-Event-ID", description=EVENT_ID)


class ListKeysQuery(Params):
    include_revoked: bool = Field(default=False, description="include revoked keys")


def validation_error(error: ValidationError, secret: frozenset[str] = frozenset()) -> ApiError:
    """422 naming the first bad field; echoed values are short, encodable and never secret."""
    problems = []
    for item in error.errors():
        name = ".".join(str(part) for part in item["loc"]) or "body"
        problem: dict[str, Any] = {"field": name, "reason": item["msg"]}
        value = item.get("input")
        if not secret & {str(part) for part in item["loc"]} and isinstance(value, str | int | float | bool):
            problem["value"] = printable(value) if isinstance(value, str) else value
        problems.append(problem)
    first = problems[0]
    return ApiError("VALIDATION_ERROR", f"{first['field']}: {first['reason']}", {**first, "errors": problems})


def enum_field(enum: _EnumTypeWrapper[V], word: str, field: str) -> V:
    """A public word as the contract's enum value ("" is unspecified: the service's default), or 422."""
    value = enum_value(enum, word)
    if value is None:
        words = enum_words(enum)
        allowed = words[0] if len(words) == 1 else f"one of {', '.join(words)}"
        raise ApiError(
            "VALIDATION_ERROR", f"{field} must be {allowed}", {"field": field, "value": printable(word)}
        )
    return value


def printable(text: str, limit: int = 64) -> str:
    """At most ``limit`` characters, with anything UTF-8 cannot carry (lone surrogates) replaced."""
    return text[:limit].encode("utf-8", "replace").decode("utf-8")


def parse(model: type[Q], values: Mapping[str, str]) -> Q:
    try:
        return model.model_validate(dict(values))
    except ValidationError as error:
        raise validation_error(error) from None


def read_query(connection: HTTPConnection, model: type[Q]) -> Q:
    """The query string as ``model`` (the last value of a repeated name wins), or 422."""
    return parse(model, connection.query_params)


def read_headers(connection: HTTPConnection, model: type[Q]) -> Q:
    """The headers named by ``model``'s aliases (empty values count as absent), or 422."""
    names = [field.alias or name for name, field in model.model_fields.items()]
    present = {name: connection.headers[name] for name in names if connection.headers.get(name)}
    return parse(model, present)
