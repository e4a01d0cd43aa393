"""Detection inside TLS and of binary protocols, against real servers on free loopback ports."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterator

import pytest

from rampart_scan.engine.scanner import EngineOptions, ServiceFound, scan
from rampart_scan.engine.services import detect
from rampart_scan.engine.targets import Host
from tests.protocol_servers import LAUNCHERS, started
from tests.servers import Running, ServerMissing

pytestmark = pytest.mark.service  # real servers: the middle tier

LOOPBACK = Host(ipaddress.ip_address("127.0.0.1"))


@pytest.fixture
def server(request: pytest.FixtureRequest) -> Iterator[Running]:
    try:
        with started(request.param) as running:
            yield running
    except ServerMissing as missing:
        if os.environ.get("CI"):
            raise  # CI installs every test server (scripts/setup.sh --test)
        pytest.skip(str(missing))


@pytest.mark.parametrize("server", sorted(LAUNCHERS), indirect=True)
async def test_the_service_product_version_and_cpe_are_named(server: Running) -> None:
    """On a port no probe lists, so the order of probes and the TLS handshake are what find it."""
    expect = server.expect
    info = await detect(LOOPBACK, server.port)
    assert (info.name, info.product, info.version) == (expect.service, expect.product, expect.version), (
        info.evidence
    )
    assert info.tls is (expect.service.startswith("ssl/") or expect.service.endswith("s"))
    if expect.cpe_prefix:
        assert info.cpe == f"{expect.cpe_prefix}{expect.version or '*'}:*:*:*:*:*:*:*"
    assert info.evidence


@pytest.mark.parametrize("server", ["slapd"], indirect=True)
async def test_ldap_over_tls_is_ldaps_with_the_vendor(server: Running) -> None:
    info = await detect(LOOPBACK, int(server.extra["tls_port"]))
    assert (info.name, info.product, info.tls) == ("ldaps", "OpenLDAP", True)
    assert "objectClass=OpenLDAProotDSE" in info.evidence


@pytest.mark.parametrize("server", ["redis-tls"], indirect=True)
async def test_a_scan_reports_the_inner_service_and_keeps_the_tls_audit(server: Running) -> None:
    options = EngineOptions(ports=str(server.port), service_detection=True, ssl_check=True)
    services = [event async for event in scan(["127.0.0.1"], options) if isinstance(event, ServiceFound)]
    assert len(services) == 1
    port = services[0].finding
    assert port.service is not None
    assert port.service.name == "ssl/redis"
    assert port.tls is not None
    assert port.tls.negotiated_protocol in {"TLSv1.2", "TLSv1.3"}
    assert "certificate:hostname-mismatch" not in port.tls.weaknesses  # trustme's cert names 127.0.0.1
