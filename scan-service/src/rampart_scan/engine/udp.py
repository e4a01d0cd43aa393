"""UDP scanning without privileges: one connected datagram socket per probe.

A reply means open (and names the service); an ICMP port unreachable comes back as
ECONNREFUSED on the connected socket: closed; silence after a retry is open|filtered. Linux
rate-limits the ICMP errors that tell closed ports apart (``net.ipv4.icmp_msgs_per_sec``, 1000 a
second by default, bursts of 50), so probes are paced below that, and the pace halves whenever
a retry turns a silence into a refusal (a sign the first refusal was never sent).
"""

from __future__ import annotations

import asyncio
import errno
import functools
import socket
import time
import tomllib
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rampart_scan.engine.pacing import TokenBucket
from rampart_scan.engine.services import ServiceInfo
from rampart_scan.engine.targets import Host
from rampart_scan.engine.tcp import RttEstimator, TcpOptions

if TYPE_CHECKING:
    from rampart_scan.engine.scanner import EngineOptions, Event

PAYLOADS_FILE = Path(__file__).with_name("data") / "udp-payloads.toml"
OPEN, CLOSED, OPEN_FILTERED = "open", "closed", "open|filtered"
DEFAULT_RATE = 800.0  # probes a second: under the kernel's default ICMP error budget
MIN_RATE = 50.0
# Seconds to wait for a reply or an ICMP error: 1 s until something answered, then the round
# trip, never under 0.3 s (a server may think before it replies, unlike a kernel refusing).
UDP_TIMING = TcpOptions(initial_timeout=1.0, min_timeout=0.3, max_timeout=3.0)
RETRIES = 1
IN_FLIGHT = 256


@dataclass(frozen=True)
class UdpProbe:
    service: str
    payload: bytes


@functools.cache
def probes() -> dict[int, UdpProbe]:
    """Port → the request our payload file has for it."""
    table: dict[int, UdpProbe] = {}
    for entry in tomllib.loads(PAYLOADS_FILE.read_text())["probe"]:
        probe = UdpProbe(entry["service"], bytes.fromhex(entry["payload"]))
        for port in entry["ports"]:
            table[port] = probe
    return table


def identify(port: int, reply: bytes, table: Mapping[int, UdpProbe] | None = None) -> ServiceInfo:
    """The service a reply shows: the probe's service, with what the reply itself tells."""
    probe = (table if table is not None else probes()).get(port)
    name = probe.service if probe else "unknown"
    evidence = reply[:64].hex()
    if name == "dns" and len(reply) >= 12 and reply[:2] == b"RA":
        version = _dns_txt(reply)
        return ServiceInfo("dns", version=version, confidence=90, evidence=evidence, probe="udp:dns")
    if name == "ntp" and len(reply) >= 48 and reply[0] & 0x07 == 4:  # mode 4: server
        version = str((reply[0] >> 3) & 0x07)
        return ServiceInfo("ntp", version=f"v{version}", confidence=90, evidence=evidence, probe="udp:ntp")
    if name == "snmp" and reply[:1] == b"\x30":
        descr = _longest_text(reply)
        return ServiceInfo("snmp", product=descr, confidence=90, evidence=evidence, probe="udp:snmp")
    if name == "memcached" and b"VERSION " in reply:
        version = reply.split(b"VERSION ", 1)[1].split(b"\r", 1)[0].decode("ascii", "replace")
        return ServiceInfo("memcached", "memcached", version, confidence=95, evidence=evidence)
    return ServiceInfo(name, confidence=60 if probe else 10, evidence=evidence, probe=f"udp:{name}")


def _dns_txt(reply: bytes) -> str:
    """The first TXT string of the answer to version.bind, if the server gave one."""
    if int.from_bytes(reply[6:8], "big") == 0:
        return ""
    at = reply.find(b"\x00\x10\x00\x03", 12 + 18)  # TYPE TXT, CLASS CH of the answer record
    if at < 0 or at + 11 > len(reply):
        return ""
    length = reply[at + 10]
    return reply[at + 11 : at + 11 + length].decode("utf-8", "replace")


def _longest_text(reply: bytes) -> str:
    runs, current = [], bytearray()
    for byte in reply:
        if 32 <= byte < 127:
            current.append(byte)
        else:
            runs.append(bytes(current))
            current.clear()
    runs.append(bytes(current))
    return max(runs, key=len).decode("ascii")


class _Datagram(asyncio.DatagramProtocol):
    """One probe's socket: the first reply or error settles it."""

    def __init__(self) -> None:
        self.answer: asyncio.Future[bytes | int] = asyncio.get_running_loop().create_future()

    def datagram_received(self, data: bytes, addr: object) -> None:
        if not self.answer.done():
            self.answer.set_result(data)

    def error_received(self, exc: Exception) -> None:
        if not self.answer.done():
            self.answer.set_result(getattr(exc, "errno", errno.EIO) or errno.EIO)


@dataclass
class _Pace:
    """The scan's pacing: a local bucket that slows on lost ICMP errors, and the shared pacer;
    and how long to wait for an answer, from the round trips of the answers so far."""

    bucket: TokenBucket
    options: EngineOptions
    rtt: RttEstimator = field(default_factory=lambda: RttEstimator(UDP_TIMING))

    async def take(self) -> None:
        await self.bucket.take(1)
        if self.options.pacer is not None:
            await self.options.pacer.take(1)

    def slow_down(self) -> None:
        self.bucket.rate = max(MIN_RATE, self.bucket.rate / 2)


async def _probe(host: Host, port: int, pace: _Pace, table: Mapping[int, UdpProbe]) -> tuple[str, bytes]:
    loop = asyncio.get_running_loop()
    payload = table[port].payload if port in table else b""
    refused_late = False
    for attempt in range(RETRIES + 1):
        await pace.take()
        sock = socket.socket(host.family, socket.SOCK_DGRAM)
        if host.family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.setblocking(False)
        try:
            sock.connect((str(host.address), port))
            sock.send(payload)  # directly: asyncio's transport drops empty datagrams
        except OSError as error:
            sock.close()
            if error.errno == errno.ECONNREFUSED:
                return CLOSED, b""
            return OPEN_FILTERED, b""
        # An ICMP error that comes before the transport reads is kept by the socket till then.
        transport, protocol = await loop.create_datagram_endpoint(_Datagram, sock=sock)
        try:
            sent = time.monotonic()
            try:
                answer = await asyncio.wait_for(asyncio.shield(protocol.answer), pace.rtt.timeout)
            except TimeoutError:
                continue
            pace.rtt.sample(time.monotonic() - sent)
        finally:
            transport.close()
        if isinstance(answer, bytes):
            return OPEN, answer
        if answer == errno.ECONNREFUSED:
            refused_late = attempt > 0
            if refused_late:
                pace.slow_down()  # the first probe's ICMP error was rate-limited away
            return CLOSED, b""
        return OPEN_FILTERED, b""  # host or network unreachable, prohibited
    return OPEN_FILTERED, b""


async def udp_scan(
    targets: list[tuple[Host, list[int]]],
    options: EngineOptions,
    table: Mapping[int, UdpProbe] | None = None,
) -> AsyncIterator[Event]:
    """Every (host, ports) target over UDP; events as ``scanner.scan`` yields them. ``table``
    (port → probe) replaces the payload file's, for servers on other ports than their own."""
    table = probes() if table is None else table
    from rampart_scan.engine.scanner import (  # the event types live beside ``scan``
        HostDone,
        HostReport,
        PortFinding,
        PortFound,
        Progress,
        ServiceFound,
    )

    rate = options.rate or DEFAULT_RATE
    pace = _Pace(TokenBucket(rate, burst=min(50.0, max(1.0, rate / 20))), options)
    events: asyncio.Queue[Event] = asyncio.Queue()
    limit = asyncio.Semaphore(min(IN_FLIGHT, options.in_flight))
    total = sum(len(ports) for _, ports in targets)
    done = 0
    started = time.monotonic()

    async def one(host: Host, port: int, states: dict[int, str], replies: dict[int, bytes]) -> None:
        nonlocal done
        async with limit:
            state, reply = await _probe(host, port, pace, table)
        states[port] = state
        done += 1
        if state == OPEN:
            replies[port] = reply
            finding = PortFinding(port, OPEN)
            events.put_nowait(PortFound(host, finding))
            if options.service_detection:
                finding.service = identify(port, reply, table)
                events.put_nowait(ServiceFound(host, finding))
        events.put_nowait(Progress(host, done, total, min(99, done * 100 // max(total, 1))))

    async def sweep_host(host: Host, ports: list[int]) -> None:
        states: dict[int, str] = {}
        replies: dict[int, bytes] = {}
        await asyncio.gather(*(one(host, port, states, replies) for port in ports))
        open_ports = [PortFinding(p, OPEN, service=identify(p, replies[p], table)) for p in sorted(replies)]
        quiet = sorted(p for p, s in states.items() if s == OPEN_FILTERED)
        counts = {
            "open": len(open_ports),
            "closed": sum(1 for s in states.values() if s == CLOSED),
            "filtered": len(quiet),  # open|filtered: UDP silence cannot be told apart
        }
        report = HostReport(host, counts, open_ports, quiet, None, round(time.monotonic() - started, 3))
        events.put_nowait(HostDone(report))

    runner = asyncio.ensure_future(asyncio.gather(*(sweep_host(h, p) for h, p in targets)))
    try:
        while not runner.done() or not events.empty():
            getter = asyncio.ensure_future(events.get())
            waiting: set[asyncio.Future[Any]] = {getter, runner}
            finished, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
            if getter in finished:
                yield getter.result()
            else:
                getter.cancel()
        runner.result()
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
