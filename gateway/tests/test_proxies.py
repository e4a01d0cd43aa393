"""TRUSTED_PROXIES: X-Forwarded-For is believed only from a trusted peer, rightmost untrusted hop."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from starlette.testclient import TestClient

from rampart_devtools.ports import free_port
from rampart_gateway.app import create_app
from rampart_gateway.proxies import TrustedProxyMiddleware, client_address, parse_address, parse_networks
from rampart_gateway.settings import GatewaySettings

PROXIES = parse_networks("10.0.0.0/8, 192.168.7.7, fd00::/8")


def settings(**overrides: Any) -> GatewaySettings:
    dead = f"127.0.0.1:{free_port()}"
    addresses = {f"{name}_addr": dead for name in ("auth", "scan", "threat", "ai", "report")}
    return GatewaySettings(
        mongodb_url=f"mongodb://{dead}/?serverSelectionTimeoutMS=200",
        nats_url=f"nats://{dead}",
        health_timeout_seconds=0.3,
        **addresses,
        **overrides,
    )


def test_with_no_trusted_proxy_the_tcp_peer_is_the_client_whatever_the_header_says() -> None:
    assert client_address("127.0.0.1", ["203.0.113.9"], ()) == "127.0.0.1"
    assert client_address("10.1.1.1", ["203.0.113.9"], parse_networks("")) == "10.1.1.1"


def test_an_untrusted_peer_cannot_choose_its_address() -> None:
    assert client_address("198.51.100.4", ["203.0.113.9"], PROXIES) == "198.51.100.4"


def test_the_rightmost_untrusted_hop_is_the_client() -> None:
    # the client forged "1.1.1.1"; the ingress (10.0.0.5) appended what it saw; a second
    # trusted proxy (192.168.7.7) appended the ingress
    forwarded = ["1.1.1.1, 203.0.113.9, 10.0.0.5", "192.168.7.7"]
    assert client_address("10.2.3.4", forwarded, PROXIES) == "203.0.113.9"
    assert client_address("10.2.3.4", ["203.0.113.9"], PROXIES) == "203.0.113.9"
    assert client_address("fd00::1", ["2001:db8::7"], PROXIES) == "2001:db8::7"


def test_when_every_hop_is_trusted_the_leftmost_is_used() -> None:
    assert client_address("10.2.3.4", ["10.0.0.9, 10.0.0.5"], PROXIES) == "10.0.0.9"
    assert client_address("10.2.3.4", [], PROXIES) == "10.2.3.4"


def test_malformed_entries_never_choose_an_identity() -> None:
    # junk right of the client stops the walk at the last trusted hop; junk left of it is not reached
    assert client_address("10.2.3.4", ["203.0.113.9, not-an-ip"], PROXIES) == "10.2.3.4"
    assert client_address("10.2.3.4", ["203.0.113.9, 10.0.0.5, unknown"], PROXIES) == "10.2.3.4"
    assert client_address("10.2.3.4", ["\x00garbage, 203.0.113.9"], PROXIES) == "203.0.113.9"
    assert client_address("10.2.3.4", ["203.0.113.9, , "], PROXIES) == "203.0.113.9"
    assert client_address("10.2.3.4", ["1.2.3.4.5, [::1"], PROXIES) == "10.2.3.4"
    assert client_address("10.2.3.4", ["x" * 10_000 + ", 203.0.113.9"], PROXIES) == "203.0.113.9"


def test_addresses_are_read_in_the_forms_proxies_write_and_normalised() -> None:
    assert str(parse_address(" 203.0.113.9:443 ")) == "203.0.113.9"
    assert str(parse_address("[2001:db8::1]:443")) == "2001:db8::1"
    assert str(parse_address("2001:DB8:0::1")) == "2001:db8::1"
    assert str(parse_address("::ffff:10.0.0.5")) == "10.0.0.5"  # a mapped peer is the IPv4 proxy
    assert parse_address("010.0.0.1") is None
    assert parse_address("") is None


def test_a_bad_trusted_proxies_value_fails_at_start_naming_it() -> None:
    with pytest.raises(ValueError, match="TRUSTED_PROXIES"):
        GatewaySettings(mongodb_url="mongodb://x", nats_url="nats://x", trusted_proxies="10.0.0.0/8,nope")


def _remaining(client: TestClient, forwarded_for: str) -> int:
    reply = client.get("/api/v1/user/profile", headers={"X-Forwarded-For": forwarded_for})
    assert reply.status_code == 401
    return int(reply.headers["x-ratelimit-remaining"])


def test_anonymous_buckets_follow_the_forwarded_client_only_behind_a_trusted_proxy() -> None:
    trusted = settings(trusted_proxies="127.0.0.0/8")
    with TestClient(create_app(trusted), client=("127.0.0.1", 40000)) as client:
        assert _remaining(client, "203.0.113.10") == 119
        assert _remaining(client, "203.0.113.11") == 119  # another client, another bucket
        assert _remaining(client, "1.1.1.1, 203.0.113.10") == 118  # the forged hop is not believed
    with TestClient(create_app(settings()), client=("127.0.0.1", 40000)) as client:
        first = _remaining(client, "203.0.113.10")
        assert _remaining(client, "203.0.113.11") == first - 1  # one bucket: the TCP peer's


def test_a_trusted_proxy_also_says_the_scheme_so_stream_urls_are_wss() -> None:
    seen: list[tuple[object, object]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append((scope["client"], scope["scheme"]))

    middleware = TrustedProxyMiddleware(app, PROXIES)
    headers = [(b"x-forwarded-for", b"203.0.113.9"), (b"x-forwarded-proto", b"https")]
    for peer in ("10.0.0.5", "198.51.100.1"):
        scope = {"type": "websocket", "client": (peer, 1), "scheme": "ws", "headers": headers}
        asyncio.run(middleware(scope, None, None))  # type: ignore[arg-type]  # never called
    assert seen == [(("203.0.113.9", 1), "wss"), (("198.51.100.1", 1), "ws")]
