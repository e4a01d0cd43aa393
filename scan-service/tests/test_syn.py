"""The privileged SYN mode (``SCAN_SYN``, raw sockets): the same states as the connect sweep
against real listeners and real packet filtering, half-open probes, and a clear refusal when the
operator has not turned it on or the worker lacks CAP_NET_RAW."""

from __future__ import annotations

import json
import os
import socket
import struct
import subprocess
import sys
from datetime import UTC, datetime

import pytest
from firewall import namespace_missing, run_in_namespace

from rampart.lib.errors import FailedPrecondition
from rampart_scan.domain import Owner, Scan, ScanOptions, ScanSpec
from rampart_scan.engine.scanner import EngineOptions, HostDone, scan
from rampart_scan.engine.syn import _Segments, checksum, has_cap_net_raw, syn_segment
from rampart_scan.scan_engine import ScanEngine
from rampart_scan.settings import ScanSettings

pytestmark = pytest.mark.service

SETTINGS = dict(mongodb_url="mongodb://127.0.0.1:1", nats_url="nats://127.0.0.1:1", port=0)
AT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def _needs_raw() -> None:
    if not has_cap_net_raw():
        if os.environ.get("CI"):
            pytest.fail("CI runs as root: CAP_NET_RAW should be there")
        pytest.skip("needs CAP_NET_RAW (run as root) for raw sockets")


def _scan(scan_type: str = "tcp") -> Scan:
    spec = ScanSpec(("127.0.0.1",), scan_type, "1-100", ScanOptions(), "standard", 600)
    return Scan("scan_syn", Owner("usr_a", "org_a"), spec, AT, port_count=100)


def test_the_capability_is_read_from_the_effective_set() -> None:
    assert has_cap_net_raw("Name:\tx\nCapEff:\t000001fffeffffff\n") is True
    assert has_cap_net_raw("Name:\tx\nCapEff:\t000001fffeffdfff\n") is False  # bit 13 cleared
    assert has_cap_net_raw("Name:\tx\n") is False


def test_a_process_without_cap_net_raw_is_seen_as_such() -> None:
    """The real check, in a child whose bounding set has lost CAP_NET_RAW (setpriv, util-linux)."""
    _needs_raw()
    probe = "from rampart_scan.engine.syn import has_cap_net_raw; print(has_cap_net_raw())"
    dropped = subprocess.run(
        ["setpriv", "--bounding-set", "-net_raw", sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
    )
    assert dropped.stdout.strip() == "False"


def test_segments_carry_a_valid_checksum() -> None:
    """A receiver drops a segment whose checksum is wrong (silence: every port filtered)."""
    source, destination = socket.inet_aton("127.0.0.1"), socket.inet_aton("127.0.1.9")
    for port, seq in ((1, 0), (443, 123_456_789), (65535, 0xFFFFFFFF)):
        segment = syn_segment(source, destination, 40_000, port, seq)
        pseudo = source + destination + struct.pack("!BBH", 0, socket.IPPROTO_TCP, len(segment))
        assert checksum(pseudo + segment) == 0  # a receiver's check of the whole sums to zero
        sport, dport, sequence, _, _, flags = struct.unpack("!HHIIBB", segment[:14])
        assert (sport, dport, sequence, flags) == (40_000, port, seq, 0x02)
        # The sweep's own builder (the checksum's constant part summed once) makes the same bytes.
        assert _Segments(source, destination, 40_000).build(port, seq) == segment


def test_syn_mode_is_off_unless_the_operator_turns_it_on() -> None:
    off = ScanEngine(None, ScanSettings(**SETTINGS))  # type: ignore[arg-type]
    assert off.options(_scan(), "1-100", None).tcp_method == "connect"
    on = ScanEngine(None, ScanSettings(**SETTINGS, scan_syn=True))  # type: ignore[arg-type]
    assert on.options(_scan(), "1-100", None).tcp_method == "syn"
    assert on.options(_scan("udp"), "1-100", None).tcp_method == "connect"  # UDP scans unchanged


async def test_a_worker_without_the_capability_refuses_syn_scans_with_a_reason() -> None:
    engine = ScanEngine(None, ScanSettings(**SETTINGS, scan_syn=True), raw_allowed=lambda: False)  # type: ignore[arg-type]
    with pytest.raises(FailedPrecondition, match="CAP_NET_RAW") as refused:
        await engine.start(_scan())
    assert refused.value.details == {"setting": "SCAN_SYN", "capability": "CAP_NET_RAW"}


async def test_listeners_are_open_the_rest_closed_and_no_handshake_completes() -> None:
    _needs_raw()
    address = "127.0.7.1"
    listeners = [socket.create_server((address, 0)) for _ in range(2)]
    spare = socket.socket()
    spare.bind((address, 0))
    closed = spare.getsockname()[1]
    spare.close()
    open_ports = sorted(listener.getsockname()[1] for listener in listeners)
    try:
        reports = []
        ports = ",".join(map(str, [*open_ports, closed]))
        async for event in scan([address], EngineOptions(ports=ports, tcp_method="syn")):
            if isinstance(event, HostDone):
                reports.append(event.report)
        (report,) = reports
        assert [f.port for f in report.open_ports] == open_ports
        assert report.counts == {"open": 2, "closed": 1, "filtered": 0}
        for listener in listeners:  # half-open: the kernel reset our side, nothing to accept
            listener.setblocking(False)
            with pytest.raises(BlockingIOError):
                listener.accept()
    finally:
        for listener in listeners:
            listener.close()


RULESET = """
table inet rampart_test {
  chain input {
    type filter hook input priority 0; policy accept;
    ip daddr 127.0.2.2 tcp dport != 8080 drop
    ip daddr 127.0.2.3 drop
    ip daddr 127.0.2.1 tcp dport 9000-9019 drop
    ip daddr 127.0.2.1 tcp dport 9020-9039 reject with tcp reset
    ip daddr 127.0.2.1 tcp dport 9040-9059 reject with icmp type port-unreachable
  }
  chain output {
    type filter hook output priority 0; policy accept;
    ip daddr 127.0.2.5 tcp dport 9000-9009 drop
  }
}
"""

BOTH = """
import asyncio, json, socket
from rampart_scan.engine.scanner import EngineOptions, HostDone, scan
listener = socket.create_server(("0.0.0.0", 8080))
async def states(method):
    reports = {}
    options = EngineOptions(ports="8080,9000-9099", tcp_method=method)
    async for event in scan(["127.0.2.1", "127.0.2.2", "127.0.2.3", "127.0.2.4", "127.0.2.5"], options):
        if isinstance(event, HostDone):
            r = event.report
            reports[str(r.host.address)] = {
                "open": [f.port for f in r.open_ports], "filtered": r.filtered_ports, "counts": r.counts}
    return reports
print(json.dumps({"syn": asyncio.run(states("syn")), "connect": asyncio.run(states("connect"))}))
"""


def test_states_behind_nftables_match_the_connect_scan() -> None:
    """Drops (inbound or outbound) are filtered, resets closed, as connect() sees them. An ICMP
    port unreachable is the one difference, as between nmap -sS and -sT: no TCP answer, so
    filtered."""
    missing = namespace_missing()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"CI runs as root with nftables installed: {missing}")
        pytest.skip(missing)
    both = json.loads(run_in_namespace(RULESET, BOTH, timeout=300).strip().splitlines()[-1])
    syn, connect = both["syn"], both["connect"]
    icmp = list(range(9040, 9060))
    first = syn["127.0.2.1"]
    assert first["open"] == [8080]
    assert first["filtered"] == list(range(9000, 9020)) + icmp
    assert connect["127.0.2.1"]["filtered"] == list(range(9000, 9020))  # port unreachable: closed
    for host in ("127.0.2.2", "127.0.2.3", "127.0.2.4", "127.0.2.5"):
        assert syn[host] == connect[host]
    # Dropped on the way out (sendto refused with EPERM for the raw socket): filtered, not an error.
    assert syn["127.0.2.5"]["filtered"] == list(range(9000, 9010))
    assert syn["127.0.2.2"]["counts"] == {"open": 1, "closed": 0, "filtered": 100}
    assert syn["127.0.2.3"]["counts"] == {"open": 0, "closed": 0, "filtered": 101}
    assert syn["127.0.2.4"] == {
        "open": [8080],
        "filtered": [],
        "counts": {"open": 1, "closed": 100, "filtered": 0},
    }


class CountingPacer:
    """A shared pacer that grants at once and counts what it granted."""

    def __init__(self) -> None:
        self.granted = 0

    async def take(self, n: int) -> None:
        self.granted += n


async def test_every_syn_is_granted_by_the_pacer_first() -> None:
    _needs_raw()
    pacer = CountingPacer()
    options = EngineOptions(ports="20000-20299", pacer=pacer, rate=100_000, tcp_method="syn")
    reports = [e.report async for e in scan(["127.0.7.2"], options) if isinstance(e, HostDone)]
    assert sum(reports[0].counts.values()) == 300
    assert 300 <= pacer.granted < 300 + 32  # asked in batches; never a probe without a grant


async def test_ipv6_targets_of_a_syn_scan_are_swept_by_connect() -> None:
    _needs_raw()
    v6 = socket.create_server(("::1", 0), family=socket.AF_INET6)
    v4 = socket.create_server(("127.0.7.4", 0))
    ports = sorted({v6.getsockname()[1], v4.getsockname()[1]})
    try:
        options = EngineOptions(ports=",".join(map(str, ports)), tcp_method="syn")
        reports = [e.report async for e in scan(["127.0.7.4", "::1"], options) if isinstance(e, HostDone)]
        found = {str(r.host.address): [f.port for f in r.open_ports] for r in reports}
        assert v6.getsockname()[1] in found["::1"]
        assert v4.getsockname()[1] in found["127.0.7.4"]
    finally:
        v6.close()
        v4.close()
