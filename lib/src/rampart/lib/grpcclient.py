"""gRPC client channels that carry the current request id to the next service."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import grpc
import structlog

from rampart.lib.ids import REQUEST_ID_HEADER
from rampart.lib.tls import TlsFiles


class RequestIdClientInterceptor(grpc.aio.UnaryUnaryClientInterceptor):
    """Adds ``x-request-id`` from the log context to every outgoing unary call."""

    async def intercept_unary_unary(
        self,
        continuation: Callable[[grpc.aio.ClientCallDetails, Any], Awaitable[Any]],
        details: grpc.aio.ClientCallDetails,
        request: Any,
    ) -> Any:
        request_id = structlog.contextvars.get_contextvars().get("request_id")
        if request_id:
            metadata = grpc.aio.Metadata(*(details.metadata or ()))
            metadata.add(REQUEST_ID_HEADER, str(request_id))
            details = grpc.aio.ClientCallDetails(
                details.method,
                details.timeout,
                metadata,
                details.credentials,
                details.wait_for_ready,
            )
        return await continuation(details, request)


def open_channel(
    address: str, tls: TlsFiles | None = None, max_receive_bytes: int | None = None
) -> grpc.aio.Channel:
    """One long-lived channel per peer (TLS handshakes happen per connection, not per call);
    ``max_receive_bytes`` raises gRPC's 4 MiB answer limit (exports and report files)."""
    options: list[tuple[str, int]] = [
        ("grpc.keepalive_time_ms", 30_000),
        ("grpc.initial_reconnect_backoff_ms", 200),
        ("grpc.max_reconnect_backoff_ms", 2_000),
    ]
    if max_receive_bytes is not None:
        options.append(("grpc.max_receive_message_length", max_receive_bytes))
    interceptors = [RequestIdClientInterceptor()]
    if tls is None:
        return grpc.aio.insecure_channel(address, options=options, interceptors=interceptors)
    credentials = tls.channel_credentials()
    return grpc.aio.secure_channel(address, credentials, options=options, interceptors=interceptors)
