"""One table of public operations: the routes and the OpenAPI document are both built from it."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from rampart_gateway.errors import ApiError
from rampart_gateway.principal import Principal

Endpoint = Callable[[Request], Awaitable[Response]]
M = TypeVar("M", bound=BaseModel)
SECRET_FIELDS = frozenset({"password", "secret", "api_key"})
MAX_BODY = 64 * 1024


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
    query: dict[str, str] = field(default_factory=dict)
    raw_response: str = ""  # a media type returned as is (no envelope)

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
    problems = []
    for item in error.errors():
        name = ".".join(str(part) for part in item["loc"]) or "body"
        problem: dict[str, Any] = {"field": name, "reason": item["msg"]}
        if not SECRET_FIELDS & {str(part) for part in item["loc"]} and isinstance(
            item.get("input"), str | int | float | bool
        ):
            problem["value"] = item["input"]
        problems.append(problem)
    first = problems[0]
    return ApiError("VALIDATION_ERROR", f"{first['field']}: {first['reason']}", {**first, "errors": problems})


async def read_json(request: Request, model: type[M]) -> M:
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise ApiError("BAD_REQUEST", f"body is larger than {MAX_BODY} bytes")
    try:
        data = json.loads(raw or b"{}")
    except ValueError:
        raise ApiError("BAD_REQUEST", "body is not valid JSON") from None
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise validation_error(error) from None
