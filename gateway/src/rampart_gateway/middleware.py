"""Pure ASGI middleware: request id, security headers, HTTP metrics."""

from __future__ import annotations

import functools
import time
from typing import Any

from prometheus_client import Counter, Histogram
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rampart.lib.ids import clean_request_id
from rampart.lib.logging import bind_request

HTTP_REQUESTS = Counter(
    "rampart_http_requests_total",
    "HTTP requests, by endpoint and status.",
    ["endpoint", "method", "status"],
)
HTTP_LATENCY = Histogram(
    "rampart_http_request_duration_seconds",
    "HTTP request handling time, by endpoint.",
    ["endpoint"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
    "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
}


@functools.cache
def _series(endpoint: str, method: str, status: int) -> tuple[Any, Any]:
    """The labelled children, looked up once per combination (labels() takes a lock)."""
    return HTTP_REQUESTS.labels(endpoint, method, str(status)), HTTP_LATENCY.labels(endpoint)


class RequestContextMiddleware:
    """Gives every request an id (the caller's if sane), echoes it, adds security headers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id = clean_request_id(Headers(scope=scope).get("x-request-id"))
        scope.setdefault("state", {})["request_id"] = request_id
        bind_request(request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                headers["x-request-id"] = request_id
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            endpoint = getattr(scope.get("endpoint"), "__name__", "unmatched")
            counter, histogram = _series(endpoint, scope.get("method", "WS"), status)
            counter.inc()
            histogram.observe(time.perf_counter() - started)
