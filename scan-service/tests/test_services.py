"""Service and version detection against real servers from Debian and PyPI on 127.0.0.1."""

from __future__ import annotations

import ipaddress

import pytest

from rampart_scan.engine.services import detect, excerpt, load_rules
from rampart_scan.engine.targets import Host
from tests.servers import LAUNCHERS, Running

pytestmark = pytest.mark.service  # real servers or a real store: the middle tier

LOOPBACK = Host(ipaddress.ip_address("127.0.0.1"))


@pytest.mark.parametrize("real_server", sorted(LAUNCHERS), indirect=True)
async def test_detection_names_product_version_and_cpe(real_server: Running) -> None:
    expect = real_server.expect
    info = await detect(LOOPBACK, real_server.port)
    assert (info.name, info.product, info.version) == (expect.service, expect.product, expect.version), (
        info.evidence
    )
    assert info.cpe.startswith(expect.cpe_prefix)
    assert info.cpe.count(":") == 12  # a full CPE 2.3 formatted string
    if expect.version:
        assert info.cpe == f"{expect.cpe_prefix}{expect.version}:*:*:*:*:*:*:*"
        assert info.confidence >= 90
    assert info.evidence
    assert all(32 <= ord(c) < 127 or c == "…" for c in info.evidence)


@pytest.mark.parametrize("real_server", ["nginx"], indirect=True)
async def test_https_is_found_by_handshake_not_by_port_number(real_server: Running) -> None:
    info = await detect(LOOPBACK, int(real_server.extra["tls_port"]))
    assert (info.name, info.product, info.version, info.tls) == (
        "https",
        "nginx",
        real_server.expect.version,
        True,
    )
    assert "Rampart TLS page" in info.extra_info


async def test_a_silent_port_falls_back_to_a_low_confidence_guess() -> None:
    import socket

    with socket.create_server(("127.0.0.1", 0)) as server:
        server.setblocking(False)
        info = await detect(LOOPBACK, server.getsockname()[1], budget=1.5)
    assert info.product == ""
    assert info.confidence <= 10


def test_rules_load_and_evidence_is_safe_to_show() -> None:
    rules = load_rules()
    names = {probe.name for probe in rules.probes}
    assert {
        "null",
        "http",
        "tls",
        "redis",
        "memcached",
        "mongodb",
        "postgresql",
        "mqtt",
        "amqp",
        "ldap",
        "dns",
        "smb",
        "rdp",
        "socks5",
        "socks4",
    } <= names
    services = {rule.service for group in rules.rules.values() for rule in group}
    assert {
        "ssh",
        "http",
        "ftp",
        "smtp",
        "pop3",
        "imap",
        "redis",
        "mysql",
        "postgresql",
        "mongodb",
        "nats",
        "amqp",
        "mqtt",
        "memcached",
        "telnet",
        "vnc",
        "domain",
        "ldap",
    } <= services
    assert excerpt(b"SSH-2.0\r\n\x00\xff<script>") == "SSH-2.0\\r\\n\\x00\\xff<script>"
    assert excerpt(b"a" * 600).endswith("…")
