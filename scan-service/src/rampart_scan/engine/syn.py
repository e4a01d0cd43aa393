"""The privileged TCP SYN sweep: half-open probes on a raw socket (needs ``CAP_NET_RAW``).

Off unless the operator turns it on (``SCAN_SYN``, docs/engine.md) and the worker holds
``CAP_NET_RAW``. It answers as the connect sweep does (``sweep``): a SYN-ACK is open, a RST
closed, silence after the retries filtered, with the same per-host round trips, retry sample
and pacing (it reuses that loop's bookkeeping). What differs is the wire: one raw IPv4 socket
sends SYNs built here (no descriptor per probe, no handshake completed) and reads the TCP
segments sent to our source port (a BPF filter on the socket drops the rest in the kernel),
keeping those whose acknowledgement matches the probe's sequence cookie. The kernel answers a
SYN-ACK it did not ask for with a RST, so the target is left with no half-open connection.

IPv6 targets go through the connect sweep (same states), after the IPv4 ones.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import random
import select
import socket
import struct
import time
from collections import deque
from collections.abc import Callable, Sequence

from rampart_scan.engine.sweep import POLL_WAIT, TIMEOUT_CHECK_EVERY, Sweep, _HostState, _Loop
from rampart_scan.engine.targets import Host
from rampart_scan.engine.tcp import (
    _CLOSED,
    _FILTERED,
    _OPEN,
    OPEN,
    PROGRESS_EVERY,
    PortResult,
    ScanCancelled,
    SweepResult,
)

CAP_NET_RAW = 13  # bit in the capability sets (linux/capability.h)
SO_ATTACH_FILTER = 26
SO_RCVBUFFORCE = 33  # asm-generic/socket.h; not exported by the socket module
RECEIVE_BUFFER = 32 * 1024 * 1024  # replies queue here while the loop sends
SYN, RST, ACK = 0x02, 0x04, 0x10
WINDOW = 1024
# source address, ports, acknowledgement and flags of a reply whose IP header has no options
REPLY = struct.Struct("!12xI4xHH4xIxB")
HEADER = "!HHIIBBHHH"  # ports, sequence, acknowledgement, offset, flags, window, checksum, urgent
TCP = socket.IPPROTO_TCP


_Entry = tuple[int, float, int, _HostState]  # port, sent at, tries so far, host


def has_cap_net_raw(status: str | None = None) -> bool:
    """Whether this process may open raw sockets: ``CAP_NET_RAW`` in its effective set."""
    if status is None:
        try:
            with open("/proc/self/status", encoding="ascii") as file:
                status = file.read()
        except OSError:
            return False
    for line in status.splitlines():
        if line.startswith("CapEff:"):
            return bool(int(line.split()[1], 16) >> CAP_NET_RAW & 1)
    return False


def checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071) of ``data``."""
    if len(data) % 2:
        data += b"\0"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def syn_segment(source: bytes, destination: bytes, sport: int, dport: int, seq: int) -> bytes:
    """A 20-byte TCP SYN header with its checksum over the IPv4 pseudo-header."""
    header = struct.pack(HEADER, sport, dport, seq, 0, 5 << 4, SYN, WINDOW, 0, 0)
    pseudo = source + destination + struct.pack("!BBH", 0, TCP, len(header))
    return header[:16] + struct.pack("!H", checksum(pseudo + header)) + header[18:]


class _Segments:
    """SYNs to one host: the checksum's constant part summed once, each probe adding its own words."""

    def __init__(self, source: bytes, destination: bytes, sport: int) -> None:
        self.sport = sport
        words = struct.unpack("!4H", source + destination)
        # pseudo-header (addresses, protocol, length) + source port, offset/flags, window
        self.base = sum(words) + TCP + 20 + sport + ((5 << 12) | SYN) + WINDOW

    def build(self, dport: int, seq: int) -> bytes:
        total = self.base + dport + (seq >> 16) + (seq & 0xFFFF)
        total = (total & 0xFFFF) + (total >> 16)
        total = (total & 0xFFFF) + (total >> 16)
        return struct.pack(HEADER, self.sport, dport, seq, 0, 5 << 4, SYN, WINDOW, ~total & 0xFFFF, 0)


def _only_to_port(raw: socket.socket, port: int) -> None:
    """A classic BPF filter on ``raw``: the kernel queues only TCP segments to ``port``
    (not our own SYNs looping back, not the host's other traffic)."""
    program = struct.pack(
        "HBBI" * 5,
        0xB1, 0, 0, 0,  # ldx 4*([0]&0xf): the IP header's length
        0x48, 0, 0, 2,  # ldh [x+2]: the TCP destination port
        0x15, 0, 1, port,  # jeq port, else drop
        0x06, 0, 0, 0xFFFF,  # ret: keep the segment
        0x06, 0, 0, 0,  # ret: drop
    )  # fmt: skip
    instructions = ctypes.create_string_buffer(program)
    fprog = struct.pack("HL", 5, ctypes.addressof(instructions))  # struct sock_fprog
    raw.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)


def _source_for(address: str) -> bytes:
    """The local address the kernel would send from to reach ``address``."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect((address, 9))
        return socket.inet_aton(probe.getsockname()[0])


class _SynLoop(_Loop):
    """The connect sweep's host bookkeeping (turns, caps, timeouts, retry sample), raw SYNs on the wire."""

    def __init__(self, sweep: Sweep, finished: Callable[[int, Host, SweepResult], None]) -> None:
        super().__init__(sweep, finished)
        self.raw: dict[int, _Entry] = {}  # probes awaiting an answer, by address << 16 | port
        self.raw_in_flight: dict[int, deque[tuple[int, _Entry]]] = {}  # by host, oldest first

    def run(self) -> None:
        sweep = self.sweep
        limit = max(16, sweep.in_flight)
        per_host = max(1, sweep.per_host_in_flight)
        pending, active = self.raw, self.active
        # The source port: held by a bound (not listening) socket so no connection of this host
        # takes it; a SYN-ACK to it meets no socket and the kernel resets it.
        holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        holder.bind(("0.0.0.0", 0))
        sport = holder.getsockname()[1]
        try:
            raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, TCP)
        except PermissionError as error:
            holder.close()
            raise PermissionError("the SYN sweep needs CAP_NET_RAW (raw sockets)") from error
        raw.setblocking(False)
        _only_to_port(raw, sport)
        try:  # above rmem_max: allowed with CAP_NET_ADMIN, else the ordinary (capped) request
            raw.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, RECEIVE_BUFFER)
        except OSError:
            with contextlib.suppress(OSError):
                raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
        poller = select.epoll()
        poller.register(raw.fileno(), select.EPOLLIN)
        wake = os.eventfd(0, os.EFD_NONBLOCK)
        poller.register(wake, select.EPOLLIN)
        secret = random.getrandbits(32)
        segments: dict[bytes, _Segments] = {}
        buffer = bytearray(256)
        view = memoryview(buffer)
        recv_into, sendto = raw.recv_into, raw.sendto
        unpack_from, reply = struct.unpack_from, REPLY.unpack_from
        on_open, on_progress = sweep.on_open, sweep.on_progress
        grant, batch = sweep.grant, max(1, sweep.grant_batch)
        credit = 0 if grant is not None else -1  # -1: unpaced
        granted = None
        last_progress = last_check = 0.0
        answered = 0

        try:
            self._activate()
            while active:
                if sweep.cancelled.is_set():
                    raise ScanCancelled
                now = time.monotonic()
                if granted is not None and granted.done():
                    granted.result()
                    granted, credit = None, credit + batch
                for _turn in range(len(active)):
                    if not active or len(pending) >= limit or credit == 0:
                        break
                    state = active[0]
                    active.rotate(-1)
                    queue, target = state.queue, state.address[0]
                    packed = socket.inet_aton(target)
                    maker = segments.get(packed)
                    if maker is None:
                        try:
                            maker = segments[packed] = _Segments(_source_for(target), packed, sport)
                        except OSError:  # no route to it: filtered, as connect() reports it
                            for port, _tries in queue:
                                state.result.states[port] = _FILTERED
                            count = len(queue)
                            queue.clear()
                            self.answered = answered
                            self._settle(state, count)  # retires the host: the turn moves on
                            answered = self.answered
                            continue
                    base = int.from_bytes(packed) << 16
                    build, to = maker.build, (target, 0)
                    sent = refused = 0
                    waiting = self.raw_in_flight.setdefault(state.index, deque())
                    while queue and state.pending < per_host and len(pending) < limit and credit != 0:
                        if sent == per_host:
                            break
                        port, tries = queue.popleft()
                        key = base | port
                        seq = (key * 0x9E3779B1 ^ secret) & 0xFFFFFFFF  # the cookie a reply acknowledges
                        try:
                            sendto(build(port, seq), to)
                        except OSError as error:
                            if error.errno in (errno.ENOBUFS, errno.EAGAIN):
                                queue.appendleft((port, tries))
                                break
                            # Refused on the way out (unreachable, a local firewall's EPERM):
                            # filtered, as connect() reports the same errors.
                            state.result.states[port] = _FILTERED
                            if tries > 0:
                                self._answered_retry(state)
                            refused += 1
                            continue
                        sent += 1
                        if credit > 0:
                            credit -= 1
                        entry = (port, now, tries, state)
                        pending[key] = entry
                        waiting.append((key, entry))
                        state.pending += 1
                    if refused:
                        self.answered = answered
                        self._settle(state, refused)  # may retire the host: the turn moves on
                        answered = self.answered
                if credit == 0 and granted is None and grant is not None:
                    granted = grant(batch)
                    granted.add_done_callback(lambda _f: os.eventfd_write(wake, 1))
                events = poller.poll(POLL_WAIT if pending or granted is not None else 0, 8)
                for fd, _mask in events:
                    if fd == wake:
                        os.eventfd_read(wake)
                now = time.monotonic()
                while True:  # every segment queued on the raw socket
                    try:
                        size = recv_into(buffer)
                    except BlockingIOError:
                        break
                    if size < 40:
                        continue
                    if buffer[0] == 0x45:  # IPv4 without options: everything in one unpack
                        source, source_port, destination_port, ack, flags = reply(buffer)
                    else:
                        offset = (buffer[0] & 0x0F) * 4
                        source_port, destination_port, _seq, ack = unpack_from("!HHII", buffer, offset)
                        source, flags = int.from_bytes(view[12:16]), buffer[offset + 13]
                    if destination_port != sport or not flags & (RST | SYN) or not flags & ACK:
                        continue
                    key = source << 16 | source_port
                    if ack != ((key * 0x9E3779B1 ^ secret) + 1) & 0xFFFFFFFF:
                        continue  # not an answer to a SYN of ours (the cookie is its sequence)
                    answer = pending.pop(key, None)
                    if answer is None:
                        continue  # answered already, or given up on
                    port, started, tries, state = answer
                    state.pending -= 1
                    if flags & RST:
                        state.result.states[port] = _CLOSED
                    else:
                        state.result.states[port] = _OPEN
                        rtt_ms = state.result.open_rtt_ms[port] = round((now - started) * 1000, 3)
                        if on_open is not None:
                            on_open(state.host, PortResult(port, OPEN, rtt_ms))
                    if state.done & 15 == 0:
                        state.rtt.sample(now - started)
                        self.global_rtt.sample(now - started)
                    if tries > 0:
                        self._answered_retry(state)
                    state.done += 1
                    answered += 1
                    if state.done == state.total:
                        self.answered = answered
                        self._retire(state)
                if now - last_check > TIMEOUT_CHECK_EVERY and pending:
                    last_check = now
                    self.answered = answered
                    self._expire_raw(now)
                    answered = self.answered
                if on_progress is not None and (now - last_progress > PROGRESS_EVERY or not active):
                    last_progress = now
                    on_progress(answered)
        finally:
            pending.clear()
            poller.close()
            os.close(wake)
            raw.close()
            holder.close()
            if granted is not None:
                granted.cancel()
        if on_progress is not None:
            on_progress(answered)

    def _expire_raw(self, now: float) -> None:
        for state in list(self.active):
            timeout = self._timeout(state)
            in_flight = self.raw_in_flight.get(state.index)
            while in_flight:
                key, entry = in_flight[0]
                if self.raw.get(key) is not entry:
                    in_flight.popleft()  # answered already
                    continue
                port, started, tries, _ = entry
                if now - started <= timeout:
                    break
                in_flight.popleft()
                del self.raw[key]
                state.pending -= 1
                self._timed_out(state, port, tries)


class SynSweep(Sweep):
    """``Sweep`` with SYN probes on a raw socket for IPv4 hosts (IPv6 ones: connect probes)."""

    def run(self) -> list[SweepResult]:
        slots: dict[int, SweepResult] = {}
        done_hook = self.on_host_done
        v4 = [i for i, (host, _) in enumerate(self.targets) if host.family == socket.AF_INET]
        v6 = [i for i, (host, _) in enumerate(self.targets) if host.family != socket.AF_INET]
        answered = [0, 0]

        def finisher(numbering: list[int]) -> Callable[[int, Host, SweepResult], None]:
            def finished(position: int, host: Host, result: SweepResult) -> None:
                index = numbering[position]
                slots[index] = result
                if done_hook is not None:
                    done_hook(index, host, result)

            return finished

        def progress_of(part: int) -> Callable[[int], None] | None:
            report = self.on_progress
            if report is None:
                return None

            def progressed(count: int) -> None:
                answered[part] = count
                report(sum(answered))

            return progressed

        for part, (numbering, kind) in enumerate(((v4, "syn"), (v6, "connect"))):
            if not numbering:
                continue
            piece = Sweep(
                [self.targets[i] for i in numbering],
                self.options,
                on_open=self.on_open,
                on_progress=progress_of(part),
                cancelled=self.cancelled,
                in_flight=self.in_flight,
                per_host_in_flight=self.per_host_in_flight,
                grant=self.grant,
                grant_batch=self.grant_batch,
            )
            if kind == "syn":
                _SynLoop(piece, finisher(numbering)).run()
            else:
                _Loop(piece, finisher(numbering)).run()
        return [slots[index] for index in range(len(self.targets))]


def syn_sweep_host(host: Host, ports: Sequence[int]) -> SweepResult:
    """One host's SYN sweep, blocking: for tests and tools."""
    return SynSweep([(host, ports)]).run()[0]
