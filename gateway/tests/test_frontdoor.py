"""Where the front door looks for credentials."""

from __future__ import annotations

from rampart_gateway.frontdoor import credential_of


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
