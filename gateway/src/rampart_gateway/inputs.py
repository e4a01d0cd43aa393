"""Typed inputs: JSON bodies, query and header parameters, parsed into models or refused.

A body is read as a ``Body`` model (400 if it is not JSON, 422 if it does not fit). Query and
header parameters are parsed by one ``Params`` model per operation (each domain's
``queries.py``), which also generates the OpenAPI parameters (``openapi.model_parameters``).
Numbers are ASCII digits only, within bounds (``str.isdigit`` also accepts superscripts and
other scripts' digits, which ``int`` then refuses or reads as numbers). Times are RFC 3339
date-times between ``EARLIEST`` and ``LATEST`` after normalising to UTC.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import orjson
from annotated_types import Interval
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from starlette.requests import HTTPConnection, Request

from rampart.lib.enums import V, enum_value, enum_words
from rampart_gateway.errors import ApiError

if TYPE_CHECKING:
    from google.protobuf.internal.enum_type_wrapper import _EnumTypeWrapper

Q = TypeVar("Q", bound=BaseModel)
SECRET_FIELDS = frozenset({"password", "secret", "api_key"})  # body fields never echoed in a 422
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


class Body(BaseModel):
    """A JSON request body: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class Params(BaseModel):
    """Query or header parameters: unknown ones are ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)


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


async def read_json(request: Request, model: type[Q]) -> Q:
    """The body as ``model``: 400 if it is not JSON (orjson: depth-limited, strict UTF-8), else 422.

    The size is bounded while the body streams in (``bodylimit.BodyLimitMiddleware``).
    """
    raw = await request.body()
    try:
        data = orjson.loads(raw or b"{}")
    except orjson.JSONDecodeError:
        raise ApiError("BAD_REQUEST", "body is not valid JSON") from None
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise validation_error(error, SECRET_FIELDS) from None
