"""Scope checks through the use case, self-exclusion, and engine sockets that cannot reach IPv4 via IPv6."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from rampart_scan.authorise import TargetAuthoriser
from rampart_scan.engine.addresses import IPAddress
from rampart_scan.engine.connect import new_socket, open_stream
from rampart_scan.engine.exclusions import Exclusions, is_local_address, own_listening_ports
from rampart_scan.engine.scanner import EngineOptions, HostDone, PortFound, scan_hosts
from rampart_scan.engine.sweep import sweep_host
from rampart_scan.engine.targets import Host
from rampart_scan.engine.tcp import OPEN
from rampart_scan.scan_engine import worker_exclusions
from rampart_scan.scope import ScopeBook, TargetNotAllowed
from rampart_scan.settings import ScanSettings

RESOLVES = {
    "www.customer.example": ["93.184.215.14"],
    "internal.customer.example": ["10.20.1.5"],
    "nats.rampart.svc.cluster.local": ["10.96.0.12"],
    "meta.customer.example": ["::ffff:169.254.169.254"],
}


async def fake_dns(name: str) -> list[IPAddress]:
    return [ipaddress.ip_address(address) for address in RESOLVES.get(name, [])]


def commands(tmp_path: Path, **settings: str) -> TargetAuthoriser:
    scope = tmp_path / "scope.json"
    scope.write_text(
        json.dumps({"default": {"allow_domains": ["customer.example"], "allow": ["127.0.0.0/8"]}})
    )
    config = ScanSettings(
        mongodb_url="mongodb://x", nats_url="nats://x", platform_addresses="10.96.0.0/12", **settings
    )
    book = ScopeBook(scope, config.platform_networks())
    return TargetAuthoriser(book, config, resolver=fake_dns)


async def test_a_missing_name_and_a_forbidden_one_get_the_same_answer(tmp_path: Path) -> None:
    """The resolver is not an oracle: nothing says whether a name exists or where it points."""
    use_case = commands(tmp_path)
    hosts = await use_case.authorised_hosts("org_a", ["www.customer.example"])
    assert [str(h.address) for h in hosts] == ["93.184.215.14"]
    answers = {}
    for name in (
        "no-such-host.customer.example",
        "internal.customer.example",
        "nats.rampart.svc.cluster.local",
        "meta.customer.example",
    ):
        with pytest.raises(TargetNotAllowed) as refused:
            await use_case.authorised_hosts("org_a", [name])
        error = refused.value
        assert error.details == {"field": "target", "value": name}
        answers[name] = (error.public_code, error.grpc_code, error.message.replace(name, "NAME"))
    assert set(answers.values()) == {
        ("TARGET_NOT_ALLOWED", TargetNotAllowed.grpc_code, "NAME is outside the authorised scope")
    }


async def test_resolution_budget_comes_from_settings(tmp_path: Path) -> None:
    use_case = commands(tmp_path, scan_resolve_max_names="1")
    with pytest.raises(Exception, match="at most 1 hostnames") as refused:
        await use_case.authorised_hosts("org_a", ["www.customer.example", "a.customer.example"])
    assert getattr(refused.value, "public_code", "") == "INVALID_TARGET"


def test_reported_exclusions_compare_addresses_not_strings(tmp_path: Path) -> None:
    use_case = commands(tmp_path, platform_endpoints="127.0.0.1:8000,[::1]:8001")
    mapped = Host(ipaddress.ip_address("::ffff:7f00:1"))
    assert use_case.excluded([mapped, Host(ipaddress.ip_address("::1"))], [8000, 8001, 22]) == [
        "127.0.0.1:8000",
        "[::1]:8001",
    ]


def test_platform_endpoints_match_every_form_of_an_address() -> None:
    settings = ScanSettings(mongodb_url="m", nats_url="n", platform_endpoints="[::ffff:127.0.0.1]:9000")
    exclusions = Exclusions(settings.platform_endpoint_set(), is_local=lambda _address: False)
    for spelling in ("127.0.0.1", "::ffff:7f00:1", "::127.0.0.1"):
        assert exclusions.ports_of(ipaddress.ip_address(spelling)) == {9000}
    assert exclusions.ports_of(ipaddress.ip_address("127.0.0.2")) == frozenset()


def test_own_listeners_are_left_out_on_every_local_address() -> None:
    local = {ipaddress.ip_address("10.1.2.3"), ipaddress.ip_address("127.0.0.1")}
    exclusions = Exclusions(local_ports=frozenset({9100}), is_local=lambda address: address in local)
    assert exclusions.ports_of(ipaddress.ip_address("10.1.2.3")) == {9100}  # the pod's own address
    assert exclusions.ports_of(ipaddress.ip_address("::ffff:10.1.2.3")) == {9100}
    assert exclusions.ports_of(ipaddress.ip_address("10.1.2.4")) == frozenset()  # another pod
    assert exclusions.listed([ipaddress.ip_address("10.1.2.3")], [22, 9100]) == ["10.1.2.3:9100"]


def test_local_addresses_are_found_without_sending_anything() -> None:
    assert is_local_address(ipaddress.ip_address("127.0.0.1"))
    assert is_local_address(ipaddress.ip_address("127.5.6.7"))  # all of 127/8 is this machine
    assert is_local_address(ipaddress.ip_address("0.0.0.0"))  # connecting there reaches this machine
    assert not is_local_address(ipaddress.ip_address("192.0.2.1"))


@pytest.fixture
def listener() -> Iterator[int]:
    with socket.create_server(("0.0.0.0", 0)) as server:  # like the worker's metrics on 0.0.0.0:9100
        yield server.getsockname()[1]


def test_a_process_knows_its_own_listening_ports(listener: int) -> None:
    assert listener in own_listening_ports()
    with socket.create_server(("127.0.0.1", 0)) as server:
        closed = server.getsockname()[1]
    assert closed not in own_listening_ports()


async def test_the_engine_never_scans_its_own_listener(listener: int) -> None:
    """A listener on 0.0.0.0 is left out on 127.0.0.1, 127.0.0.9 and ::ffff:127.0.0.1 alike."""
    exclusions = Exclusions(local_ports=own_listening_ports())
    hosts = [Host(ipaddress.ip_address(a)) for a in ("127.0.0.1", "127.0.0.9", "::ffff:127.0.0.1")]
    events = [event async for event in scan_hosts(hosts, EngineOptions(ports=str(listener)), exclusions)]
    assert not [event for event in events if isinstance(event, PortFound)]
    reports = [event.report for event in events if isinstance(event, HostDone)]
    assert len(reports) == 3
    assert all(sum(report.counts.values()) == 0 for report in reports)
    found = [event async for event in scan_hosts(hosts[:1], EngineOptions(ports=str(listener)))]
    assert [event for event in found if isinstance(event, PortFound)]  # without exclusions it is found


def mapped_host(port_owner: str = "::ffff:127.0.0.1") -> Host:
    """A host whose address bypassed canonicalisation: what the engine's sockets must survive."""
    host = Host(ipaddress.ip_address("::1"))
    object.__setattr__(host, "address", ipaddress.ip_address(port_owner))
    return host


def test_engine_ipv6_sockets_are_ipv6_only() -> None:
    with new_socket(Host(ipaddress.ip_address("::1"))) as sock:
        assert sock.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY) == 1


@pytest.fixture
def ipv4_listener() -> Iterator[int]:
    with socket.create_server(("127.0.0.1", 0)) as server:
        yield server.getsockname()[1]


def test_the_sweep_cannot_reach_ipv4_through_a_mapped_address(ipv4_listener: int) -> None:
    assert sweep_host(Host(ipaddress.ip_address("127.0.0.1")), [ipv4_listener]).state(ipv4_listener) == OPEN
    assert sweep_host(mapped_host(), [ipv4_listener]).state(ipv4_listener) != OPEN


async def test_probes_cannot_reach_ipv4_through_a_mapped_address(ipv4_listener: int) -> None:
    async with asyncio.timeout(10):
        _reader, writer = await open_stream(Host(ipaddress.ip_address("127.0.0.1")), ipv4_listener)
        writer.close()
        with pytest.raises(OSError, match=r"unreachable|not available|refused"):
            await open_stream(mapped_host(), ipv4_listener)


def test_a_worker_leaves_out_its_metrics_port_and_every_listener_it_has(listener: int) -> None:
    settings = ScanSettings(
        mongodb_url="m", nats_url="n", metrics_port=9100, platform_endpoints="127.0.0.1:4222"
    )
    exclusions = worker_exclusions(settings)
    assert {9100, listener} <= exclusions.local_ports
    assert exclusions.ports_of(ipaddress.ip_address("127.0.0.3")) >= {9100, listener}
    assert 4222 in exclusions.ports_of(ipaddress.ip_address("::ffff:127.0.0.1"))
    assert exclusions.ports_of(ipaddress.ip_address("192.0.2.1")) == frozenset()  # not this machine
