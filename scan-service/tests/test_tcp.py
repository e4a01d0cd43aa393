"""The connect sweep: states, self-connects, adaptive timeouts, cancellation, descriptors."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from rampart_scan.engine.scanner import EngineOptions, HostDone, scan
from rampart_scan.engine.sweep import sweep_host
from rampart_scan.engine.targets import Host
from rampart_scan.engine.tcp import RttEstimator, TcpOptions, _is_self_connect

pytestmark = pytest.mark.service  # real servers or a real store: the middle tier

LOOPBACK = Host(ipaddress.ip_address("127.0.0.1"))


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.fixture
def listener() -> Iterator[int]:
    with socket.create_server(("127.0.0.1", 0)) as server:
        yield server.getsockname()[1]


@pytest.fixture
def closed_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as server:
        return int(server.getsockname()[1])  # nothing listens once it is closed


@pytest.fixture
def full_backlog() -> Iterator[int]:
    """A listener that never accepts, its accept queue filled: new SYNs are dropped (filtered)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    fillers = []
    for _ in range(3):
        client = socket.socket()
        client.setblocking(False)
        client.connect_ex(("127.0.0.1", port))
        fillers.append(client)
    time.sleep(0.05)  # let the handshakes land in the queue
    yield port
    for client in fillers:
        client.close()
    server.close()


def test_open_closed_and_filtered_are_told_apart(listener: int, closed_port: int, full_backlog: int) -> None:
    quick = TcpOptions(initial_timeout=0.3, min_timeout=0.2, max_timeout=0.3, retries=1)
    result = sweep_host(LOOPBACK, [listener, closed_port, full_backlog], quick)
    assert result.state(listener) == "open"
    assert result.state(closed_port) == "closed"
    assert result.state(full_backlog) == "filtered"
    assert result.open_rtt_ms[listener] >= 0
    assert result.counts() == {"open": 1, "closed": 1, "filtered": 1}


def test_ipv6_loopback_is_scanned(listener: int) -> None:
    try:
        server = socket.create_server(("::1", 0), family=socket.AF_INET6)
    except OSError:
        pytest.skip("no IPv6 loopback on this machine")
    with server:
        port = server.getsockname()[1]
        v6 = Host(ipaddress.ip_address("::1"))
        result = sweep_host(v6, [port, listener])
    assert result.state(port) == "open"


def test_a_self_connected_socket_is_recognised() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.connect(("127.0.0.1", port))  # TCP simultaneous open with itself
    try:
        assert _is_self_connect(sock)
    finally:
        sock.close()
    with (
        socket.create_server(("127.0.0.1", 0)) as server,
        socket.create_connection(server.getsockname()) as client,
    ):
        assert not _is_self_connect(client)


FULL_RANGE_IN_NAMESPACE = """
import ipaddress, json, os, socket
from rampart_scan.engine.targets import Host
from rampart_scan.engine.sweep import Sweep
server = socket.create_server(("127.0.0.1", 0))
fds = len(os.listdir("/proc/self/fd"))
host = Host(ipaddress.ip_address("127.0.0.1"))
result = Sweep([(host, range(1, 65536))]).run()[0]
report = {"listener": server.getsockname()[1], "open": result.ports("open"), "counts": result.counts()}
print(json.dumps({**report, "fd_delta": len(os.listdir("/proc/self/fd")) - fds}))
"""


def test_full_range_finds_exactly_the_listener_and_leaks_nothing() -> None:
    """In a network namespace of its own (only loopback, only our listener), a full sweep must
    report exactly one open port: a kernel self-connect would show up as a second one."""
    if shutil.which("unshare") is None or shutil.which("ip") is None or os.geteuid() != 0:
        if os.environ.get("CI"):
            pytest.fail("CI runs as root with util-linux and iproute2: the namespace test must run")
        pytest.skip("needs root, unshare and ip to make a private network namespace")
    script = f"ip link set lo up && exec {sys.executable} -c '{FULL_RANGE_IN_NAMESPACE}'"
    done = subprocess.run(
        ["unshare", "--net", "sh", "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["open"] == [report["listener"]]
    assert report["counts"] == {"open": 1, "closed": 65534, "filtered": 0}
    assert report["fd_delta"] == 0


def test_timeouts_follow_the_measured_round_trip() -> None:
    options = TcpOptions(initial_timeout=1.0, min_timeout=0.05, max_timeout=3.0)
    rtt = RttEstimator(options)
    assert rtt.timeout == 1.0  # nothing measured yet
    for _ in range(20):
        rtt.sample(0.0001)
    assert rtt.timeout == 0.05  # a loopback-fast host: the floor
    for _ in range(20):
        rtt.sample(0.4)
    assert 0.4 < rtt.timeout < 1.0
    for _ in range(20):
        rtt.sample(10.0)
    assert rtt.timeout == 3.0  # the ceiling


async def test_cancelling_stops_the_scan_within_a_second() -> None:
    before = open_fds()
    # Every port of an address nobody listens on (other tests' servers on 127.0.0.1 stay
    # untouched when tests run side by side), paced so the sweep lasts several seconds.
    slow = EngineOptions(ports="-", rate=20_000)
    events: list[object] = []

    async def consume() -> None:
        async for event in scan(["127.0.5.1"], slow):
            events.append(event)

    task = asyncio.create_task(consume())
    await asyncio.sleep(0.3)
    assert not task.done(), "the sweep finished before it could be cancelled"
    started = time.monotonic()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert time.monotonic() - started < 1.0
    # The sweep thread has stopped and closed its in-flight sockets (up to 2048 of them).
    assert open_fds() <= before + 4  # the event loop's own descriptors may have been created
    assert not any(isinstance(event, HostDone) for event in events)


class CountingPacer:
    """A shared pacer that grants at once and counts what it granted."""

    def __init__(self) -> None:
        self.granted = 0

    async def take(self, n: int) -> None:
        self.granted += n


async def test_every_probe_is_granted_by_the_pacer_first(closed_port: int) -> None:
    pacer = CountingPacer()
    options = EngineOptions(ports="20000-20299", pacer=pacer, rate=100_000)
    reports = [e.report async for e in scan(["127.0.0.1"], options) if isinstance(e, HostDone)]
    assert sum(reports[0].counts.values()) == 300
    assert 300 <= pacer.granted < 300 + 32  # asked in batches; never a probe without a grant


async def test_many_hosts_each_report_once_with_their_own_ports(listener: int) -> None:
    """Hosts swept together still report separately: the listener on 127.0.0.1 only."""
    options = EngineOptions(ports=f"{listener},20000-20099", per_host_in_flight=8, in_flight=64)
    targets = ["127.0.0.1", "127.0.3.1", "127.0.3.2", "127.0.3.3"]
    reports = [e.report async for e in scan(targets, options) if isinstance(e, HostDone)]
    by_host = {str(report.host.address): report for report in reports}
    assert sorted(by_host) == sorted(targets)
    assert [f.port for f in by_host["127.0.0.1"].open_ports] == [listener]
    for address in targets[1:]:
        assert by_host[address].counts == {"open": 0, "closed": 101, "filtered": 0}
