"""One table of public operations: the routes and the OpenAPI document are both built from it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

import orjson
from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from rampart_gateway import queries
from rampart_gateway.errors import ApiError
from rampart_gateway.principal import Principal

Endpoint = Callable[[Request], Awaitable[Response]]
M = TypeVar("M", bound=BaseModel)
SECRET_FIELDS = frozenset({"password", "secret", "api_key"})


@dataclass(frozen=True)
class Operation:
    """A public operation: route, auth, and the schemas the OpenAPI document shows."""

    method: str
    path: str
    endpoint: Endpoint
    summary: str
    tag: str
    scope: str | None = None  # required scope; None with auth=True means any principal
    auth: bool = True
    body: type[BaseModel] | None = None
    form: dict[str, str] = field(default_factory=dict)  # form fields (name -> description)
    response: type[BaseModel] | None = None
    status: int = 200
    errors: tuple[str, ...] = ()
    query: type[BaseModel] | None = None  # parses the query string and documents it (queries.py)
    headers: type[BaseModel] | None = None  # the same for request headers, by alias
    # media types returned as is (no envelope); application/json then carries ``response``
    raw_response: str | tuple[str, ...] = ""

    def route(self) -> Route:
        return Route(self.path, self.endpoint, methods=[self.method], name=self.endpoint.__name__)


def require(request: Request, scope: str | None = None) -> Principal:
    """The caller, or 401 INVALID_API_KEY / 403 INSUFFICIENT_PERMISSIONS."""
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is None:
        message = getattr(request.state, "auth_error", None) or "API key is missing"
        raise ApiError("INVALID_API_KEY", message, headers={"www-authenticate": 'Bearer realm="rampart"'})
    if scope is not None and not principal.allows(scope):
        raise ApiError(
            "INSUFFICIENT_PERMISSIONS",
            f"this credential lacks the '{scope}' scope",
            {"required_scope": scope},
        )
    return principal


def validation_error(error: ValidationError) -> ApiError:
    """422 naming the first bad field; the values of secret fields are never echoed."""
    return queries.validation_error(error, SECRET_FIELDS)


async def read_json(request: Request, model: type[M]) -> M:
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
        raise validation_error(error) from None
