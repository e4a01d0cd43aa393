"""Where the front door looks for credentials."""

from __future__ import annotations

import grpc
import pytest

from rampart_gateway.frontdoor import credential_of, ticket_allowed
from rampart_gateway.principal import Authenticator, NotAuthenticated


def scope(path: str, query: bytes = b"", authorization: str | None = None) -> dict:
    headers = [(b"authorization", authorization.encode())] if authorization else []
    return {"type": "http", "path": path, "query_string": query, "headers": headers}


def test_bearer_header_is_read_on_every_path() -> None:
    assert credential_of(scope("/api/v1/stats", authorization="Bearer sk_live_abc")) == "sk_live_abc"
    assert credential_of(scope("/api/v1/stats", authorization="bearer  tok ")) == "tok"


def test_other_schemes_are_passed_on_to_be_refused() -> None:
    assert credential_of(scope("/api/v1/stats", authorization="Basic YTpi")) == "Basic YTpi"


def test_query_credentials_only_on_stream_paths() -> None:
    assert credential_of(scope("/api/v1/stats", b"api_key=sk_live_abc")) is None
    assert credential_of(scope("/api/v1/scans/scan_1", b"api_key=sk_live_abc")) is None
    assert credential_of(scope("/api/v1/scans/scan_1/stream", b"api_key=sk_live_abc")) == "sk_live_abc"
    assert credential_of(scope("/ws/scans/scan_1", b"ticket=st_x&api_key=sk_live_abc")) == "st_x"


def test_tickets_are_allowed_only_as_the_ticket_parameter_of_a_stream_path() -> None:
    assert ticket_allowed(scope("/ws/scans/scan_1", b"ticket=st_x"))
    assert ticket_allowed(scope("/api/v1/scans/scan_1/stream", b"ticket=st_x"))
    assert not ticket_allowed(scope("/api/v1/scans/scan_1/stream", b"api_key=st_x"))
    assert not ticket_allowed(scope("/api/v1/scans/scan_1/stream", authorization="Bearer st_x"))
    assert not ticket_allowed(scope("/api/v1/api-keys", authorization="Bearer st_x"))
    assert not ticket_allowed(scope("/api/v1/api-keys", b"ticket=st_x"))


async def test_a_ticket_outside_a_stream_is_refused_without_being_redeemed() -> None:
    channel = grpc.aio.insecure_channel("127.0.0.1:9")  # never called: a call would fail UNAVAILABLE
    try:
        authenticator = Authenticator(channel, key_cache_seconds=0, leeway=0)
        with pytest.raises(NotAuthenticated, match=r"only as \?ticket= on stream paths"):
            await authenticator.authenticate("st_" + "x" * 43)
    finally:
        await channel.close()
