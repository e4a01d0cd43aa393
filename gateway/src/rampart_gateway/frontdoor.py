"""The front door: every request is identified and counted before it reaches a route.

Credentials come from ``Authorization: Bearer …``; on stream paths (SSE, WebSocket),
where browsers cannot set headers, also from ``?api_key=`` or a single-use ``?ticket=``;
a stream ticket is accepted there and nowhere else (not as a Bearer token, not on other paths).
A bad credential is remembered, not refused here: routes that need a principal refuse,
so public routes keep working and every answer still carries the rate-limit headers.
"""

from __future__ import annotations

from urllib.parse import parse_qs

import grpc
import structlog
from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rampart_gateway.envelope import fail
from rampart_gateway.errors import grpc_to_api_error
from rampart_gateway.inputs import MAX_CREDENTIAL
from rampart_gateway.principal import Authenticator, NotAuthenticated, Principal
from rampart_gateway.ratelimit import Decision, RateLimits

log = structlog.get_logger(__name__)

EXEMPT_PREFIXES = (
    "/api/v1/health",
    "/api/health",
    "/metrics",
    "/docs",
    "/redoc",
    "/openapi.json",
    "/static/",
)


def is_stream_path(path: str) -> bool:
    return path.startswith("/ws/") or (path.startswith("/api/v1/scans/") and path.endswith("/stream"))


def stream_paths(scan_id: str) -> tuple[str, str]:
    """The two paths a ticket issued for one scan opens: its SSE stream and its WebSocket."""
    return f"/api/v1/scans/{scan_id}/stream", f"/ws/scans/{scan_id}"


def ticket_allowed(scope: Scope) -> bool:
    """A stream ticket is redeemed only from ``?ticket=`` on a stream path, never from a header."""
    if "authorization" in Headers(scope=scope) or not is_stream_path(scope["path"]):
        return False
    return bool(parse_qs(scope.get("query_string", b"").decode(errors="replace")).get("ticket"))


def credential_of(scope: Scope) -> str | None:
    authorization = Headers(scope=scope).get("authorization")
    if authorization:
        scheme, _, value = authorization.partition(" ")
        return value.strip() if scheme.lower() == "bearer" and value.strip() else authorization
    if is_stream_path(scope["path"]):
        query = parse_qs(scope.get("query_string", b"").decode(errors="replace"))
        for name in ("ticket", "api_key"):
            if query.get(name):
                return str(query[name][0])
    return None


class FrontDoorMiddleware:
    """Authenticates (when a credential is given) and rate-limits every non-exempt request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] not in ("http", "websocket") or path.startswith(EXEMPT_PREFIXES):
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        authenticator: Authenticator = state["authenticator"]
        limits: RateLimits = state["limits"]
        principal: Principal | None = None
        credential = credential_of(scope)
        if credential is not None and len(credential) > MAX_CREDENTIAL:
            state["auth_error"] = f"credential is longer than {MAX_CREDENTIAL} characters"
        elif credential is not None:
            try:
                principal = await authenticator.authenticate(credential, ticket_allowed(scope))
                if principal.ticket_scope and path not in stream_paths(principal.ticket_scope):
                    principal = None  # a ticket opens only the stream it was issued for
                    state["auth_error"] = "stream ticket was issued for another stream"
            except NotAuthenticated as refused:
                state["auth_error"] = str(refused)
            except grpc.aio.AioRpcError as error:
                api_error = grpc_to_api_error(error)
                log.error("credential check failed", grpc_code=error.code().name)
                response = fail(Request(scope), api_error.status_code, api_error.code, api_error.message)
                await response(scope, receive, send)
                return
        state["principal"] = principal
        client = scope.get("client") or ("unknown", 0)
        decision = await limits.check(principal, client[0], path)
        state["rate"] = decision
        if decision is not None and not decision.allowed and scope["type"] == "http":
            await self._refuse(scope, receive, send, decision)
            return
        await self.app(
            scope, receive, self._with_headers(send, decision) if scope["type"] == "http" else send
        )

    @staticmethod
    def _with_headers(send: Send, decision: Decision | None) -> Send:
        if decision is None:
            return send
        extra = decision.headers()

        async def send_with_limits(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in extra.items():
                    headers[name] = value
            await send(message)

        return send_with_limits

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, decision: Decision) -> None:
        retry_after = decision.retry_after
        response = fail(
            Request(scope),
            429,
            "RATE_LIMIT_EXCEEDED",
            f"Rate limit exceeded. Retry after {retry_after} seconds.",
            {"retry_after": retry_after, "limit": decision.limit},
            headers=decision.headers(),
            retry_after=retry_after,
        )
        await response(scope, receive, send)
