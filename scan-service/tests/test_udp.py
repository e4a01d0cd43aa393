"""UDP against real servers on loopback: replies are open (and name the service), ICMP port
unreachable is closed, silence is open|filtered."""

from __future__ import annotations

import asyncio
import ipaddress
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest

from rampart_devtools.ports import free_port
from rampart_scan.engine.scanner import EngineOptions, HostDone, HostReport, scan
from rampart_scan.engine.targets import Host
from rampart_scan.engine.udp import UdpProbe, probes, udp_scan
from tests.protocol_servers import started

pytestmark = pytest.mark.service


def _missing(binary: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"CI installs {binary} (scripts/setup.sh --test)")
    pytest.skip(f"{binary} is not installed")


@pytest.fixture
def memcached_udp() -> Iterator[int]:
    binary = shutil.which("memcached")
    if binary is None:
        _missing("memcached")
    port = free_port()
    argv = [binary or "", "-l", "127.0.0.1", "-p", "0", "-U", str(port), "-u", "nobody"]
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for_reply(port, probes()[11211].payload)
        yield port
    finally:
        process.terminate()
        process.wait(10)


def _wait_for_reply(port: int, payload: bytes, wait: float = 10.0) -> None:
    deadline = time.monotonic() + wait
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(0.2)
        sock.connect(("127.0.0.1", port))
        while time.monotonic() < deadline:
            try:
                sock.send(payload)
                if sock.recv(2048):
                    return
            except OSError:
                time.sleep(0.05)
    raise RuntimeError(f"nothing answered on udp/{port}")


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A bound socket that never replies: open, but UDP cannot tell it from a firewall."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _report(ports: list[int], table: dict[int, UdpProbe]) -> HostReport:
    host = Host(ipaddress.ip_address("127.0.0.1"))
    options = EngineOptions(ports=",".join(map(str, ports)), protocol="udp", service_detection=True)
    events = [event async for event in udp_scan([(host, ports)], options, table)]
    reports = [event.report for event in events if isinstance(event, HostDone)]
    assert len(reports) == 1
    return reports[0]


async def test_servers_answer_closed_refuses_silent_is_open_filtered(
    memcached_udp: int, silent_port: int
) -> None:
    """BIND and memcached on free ports, sent the payloads of their well-known ports."""
    closed = _closed_port()
    with started("named") as dns:
        table = {dns.port: probes()[53], memcached_udp: probes()[11211]}
        report = await asyncio.wait_for(_report([dns.port, memcached_udp, silent_port, closed], table), 30)
    assert report.counts == {"open": 2, "closed": 1, "filtered": 1}
    assert report.filtered_ports == [silent_port]
    services = {finding.port: finding.service for finding in report.open_ports}
    dns_info, memcached_info = services[dns.port], services[memcached_udp]
    assert dns_info is not None
    assert dns_info.name == "dns"
    assert dns_info.version.split("-")[0] in dns.expect.version  # BIND's version.bind
    assert memcached_info is not None
    assert memcached_info.product == "memcached"
    assert memcached_info.version


async def test_scan_speaks_udp_when_asked(silent_port: int) -> None:
    """Through ``scan``: a closed UDP port is closed, a silent one open|filtered (listed)."""
    closed = _closed_port()
    options = EngineOptions(ports=f"{closed},{silent_port}", protocol="udp")
    reports = [e.report async for e in scan(["127.0.0.1"], options) if isinstance(e, HostDone)]
    assert reports[0].counts == {"open": 0, "closed": 1, "filtered": 1}
    assert reports[0].filtered_ports == [silent_port]
