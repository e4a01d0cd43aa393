"""Request bodies are refused at the limit while they stream in, never read whole first.

A declared ``Content-Length`` over the limit is answered at once, unread; a chunked body is
counted as it arrives and cut when it passes the limit. Both answers are 413
``PAYLOAD_TOO_LARGE`` with ``Connection: close``, so the server stops reading the rest.
This covers every body the gateway parses (JSON and OAuth2 forms alike).
"""

from __future__ import annotations

import re

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rampart_gateway.envelope import fail
from rampart_gateway.errors import ApiError

MAX_BODY = 64 * 1024
# File uploads get a larger bound here; the service behind them applies its own, exact limit.
UPLOAD_LIMITS: tuple[tuple[re.Pattern[str], int], ...] = (
    (re.compile(r"^/api/v1/controls/[^/]+/evidence$"), 1024 * 1024),  # compliance evidence (512 KiB)
)
CLOSE = {"connection": "close"}


def too_large(limit: int) -> ApiError:
    return ApiError(
        "PAYLOAD_TOO_LARGE", f"body is larger than {limit} bytes", {"max_bytes": limit}, headers=CLOSE
    )


class BodyLimitMiddleware:
    """Counts request body bytes on every HTTP request and refuses past ``limit``."""

    def __init__(
        self,
        app: ASGIApp,
        limit: int = MAX_BODY,
        uploads: tuple[tuple[re.Pattern[str], int], ...] = UPLOAD_LIMITS,
    ) -> None:
        self.app = app
        self.limit = limit
        self.uploads = uploads

    def limit_for(self, path: str) -> int:
        return next((limit for pattern, limit in self.uploads if pattern.match(path)), self.limit)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and (not declared.isascii() or not declared.isdigit()):
            error = ApiError("BAD_REQUEST", "Content-Length is not a number", headers=CLOSE)
            await self._answer(scope, receive, send, error)
            return
        limit = self.limit_for(scope.get("path", ""))
        if declared is not None and int(declared) > limit:
            await self._answer(scope, receive, send, too_large(limit))
            return
        await self.app(scope, self._counting(receive, limit), send)

    def _counting(self, receive: Receive, limit: int) -> Receive:
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise too_large(limit)
            return message

        return counted

    @staticmethod
    async def _answer(scope: Scope, receive: Receive, send: Send, error: ApiError) -> None:
        request = Request(scope)
        response = fail(request, error.status_code, error.code, error.message, error.details, error.headers)
        await response(scope, receive, send)
