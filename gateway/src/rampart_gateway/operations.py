"""Public operations: each one's route, its guard, and what the OpenAPI document shows of it.

A route built from an ``Operation`` (HTTP) or a ``Channel`` (WebSocket) checks the declared
credential and scope before the handler runs, so handlers never restate a scope: they take
the caller with ``caller(request)``. Each domain package (``api/<domain>/``) lists its
operations and extra routes; ``app.py`` assembles the domains.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from pydantic import BaseModel
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket

from rampart_gateway.errors import ApiError
from rampart_gateway.principal import Principal

Endpoint = Callable[[Request], Awaitable[Response]]
SocketEndpoint = Callable[[WebSocket], Awaitable[None]]
# WebSocket close codes the guard answers with (docs/security/inputs.md lists them all).
WS_UNAUTHENTICATED, WS_FORBIDDEN, WS_RATE_LIMITED = 4401, 4403, 4429


@dataclass(frozen=True)
class Operation:
    """A public operation: route, auth, and the schemas the OpenAPI document shows."""

    method: str
    path: str
    endpoint: Endpoint
    summary: str
    tag: str
    scope: str | None = None  # required scope, checked before the handler; None: any principal
    auth: bool = True
    body: type[BaseModel] | None = None
    form: dict[str, str] = field(default_factory=dict)  # form fields (name -> description)
    upload: str = ""  # the raw body is a file (application/octet-stream); this describes it
    response: type[BaseModel] | None = None
    status: int = 200
    # other success statuses answered with the same body (status -> when), e.g. 202 while not final
    also: dict[int, str] = field(default_factory=dict)
    errors: tuple[str, ...] = ()
    query: type[BaseModel] | None = None  # parses the query string and documents it (queries.py)
    headers: type[BaseModel] | None = None  # the same for request headers, by alias
    # media types returned as is (no envelope); application/json then carries ``response``
    raw_response: str | tuple[str, ...] = ""

    def __post_init__(self) -> None:
        if self.scope is not None and not self.auth:
            raise ValueError(f"{self.path}: a scope needs auth")

    def route(self) -> Route:
        return Route(self.path, self.guarded(), methods=[self.method], name=self.endpoint.__name__)

    def guarded(self) -> Endpoint:
        """The handler behind the credential and scope check (public operations: as is)."""
        if not self.auth:
            return self.endpoint
        handler, scope = self.endpoint, self.scope

        @functools.wraps(handler)
        async def endpoint(request: Request) -> Response:
            require(request, scope)
            return await handler(request)

        return endpoint


@dataclass(frozen=True)
class Channel:
    """A WebSocket endpoint; the guard closes 4429 / 4401 / 4403 before the handler runs."""

    path: str
    endpoint: SocketEndpoint
    scope: str

    def route(self) -> WebSocketRoute:
        handler, scope = self.endpoint, self.scope

        @functools.wraps(handler)
        async def endpoint(websocket: WebSocket) -> None:
            await websocket.accept()
            state = websocket.scope.get("state", {})
            rate = state.get("rate")
            principal: Principal | None = state.get("principal")
            if rate is not None and not rate.allowed:
                await websocket.close(WS_RATE_LIMITED, "rate limit exceeded")
            elif principal is None:
                await websocket.close(WS_UNAUTHENTICATED, state.get("auth_error") or "API key is missing")
            elif not principal.allows(scope):
                await websocket.close(WS_FORBIDDEN, missing_scope(scope))
            else:
                await handler(websocket)

        return WebSocketRoute(self.path, endpoint, name=handler.__name__)


class Domain(Protocol):
    """A public API package (``api/<domain>/``): its documented operations and other routes."""

    @property
    def OPERATIONS(self) -> tuple[Operation, ...]: ...

    @property
    def ROUTES(self) -> tuple[BaseRoute, ...]: ...  # WebSocket channels, assets: not in the OpenAPI paths


def missing_scope(scope: str) -> str:
    return f"this credential lacks the '{scope}' scope"


def require(connection: HTTPConnection, scope: str | None = None) -> Principal:
    """The caller, or 401 INVALID_API_KEY / 403 INSUFFICIENT_PERMISSIONS."""
    principal: Principal | None = getattr(connection.state, "principal", None)
    if principal is None:
        message = getattr(connection.state, "auth_error", None) or "API key is missing"
        raise ApiError("INVALID_API_KEY", message, headers={"www-authenticate": 'Bearer realm="rampart"'})
    if scope is not None and not principal.allows(scope):
        raise ApiError("INSUFFICIENT_PERMISSIONS", missing_scope(scope), {"required_scope": scope})
    return principal


def caller(connection: HTTPConnection) -> Principal:
    """The authenticated caller of a guarded route (401 should a route be declared without auth)."""
    return require(connection)
