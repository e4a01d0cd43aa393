"""The connect sweep of many hosts at once, on one epoll loop in a worker thread.

Probes go out host after host in turns, under a global budget of probes in flight (descriptors)
and a per-host cap. A host's timeout follows its own round trips once it has answered; until
then it borrows the sweep's. A timed-out probe is retried only while retries are still being
tested on that host (a small sample) or have been seen to turn a silence into an answer: a
host that drops everything costs one timeout per port, not two.
"""

from __future__ import annotations

import _socket
import concurrent.futures
import errno
import os
import select
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from rampart_scan.engine.targets import Host
from rampart_scan.engine.tcp import (
    _CLOSED,
    _FILTERED,
    _OPEN,
    BUSY,
    FD_RESERVE,
    OPEN,
    PROGRESS_EVERY,
    PortResult,
    RttEstimator,
    ScanCancelled,
    SweepResult,
    TcpOptions,
    _answer,
    _is_self_connect,
    _reset_close,
    raise_fd_limit,
)

RETRY_SAMPLE = 8  # timed-out probes retried on a host before retries must prove their worth
MAX_ACTIVE_HOSTS = 256  # hosts holding state at once: memory stays bounded for big host lists
POLL_WAIT = 0.02  # the longest the loop blocks: timeouts are seen and cancellation lands soon
TIMEOUT_CHECK_EVERY = 0.01  # seconds between scans of the in-flight probes for timeouts

# Asks for permission to send n more probes; the future completes when they may go.
Grant = Callable[[int], concurrent.futures.Future[None]]


@dataclass(eq=False)  # compared by identity: ``active.remove`` must not compare 64 KiB of states
class _HostState:
    index: int  # in ``Sweep.targets``: one address may be listed twice
    host: Host
    address: tuple[str, int] | tuple[str, int, int, int]
    queue: deque[tuple[int, int]]
    total: int
    rtt: RttEstimator
    result: SweepResult = field(default_factory=SweepResult)
    in_flight: deque[tuple[int, tuple[_socket.socket, int, float, int, _HostState]]] = field(
        default_factory=deque
    )
    pending: int = 0
    done: int = 0
    retries_sent: int = 0
    retries_out: int = 0
    retries_useful: bool = False
    deferred: list[int] = field(default_factory=list)


@dataclass
class Sweep:
    """Many hosts' ports; ``run`` blocks (call it in a worker thread)."""

    targets: Sequence[tuple[Host, Sequence[int]]]
    options: TcpOptions = field(default_factory=TcpOptions)
    on_open: Callable[[Host, PortResult], None] | None = None
    on_progress: Callable[[int], None] | None = None  # probes answered so far, all hosts
    on_host_done: Callable[[int, Host, SweepResult], None] | None = None  # index in targets
    cancelled: threading.Event = field(default_factory=threading.Event)
    in_flight: int = 4096
    per_host_in_flight: int = 1024
    grant: Grant | None = None
    grant_batch: int = 32

    def run(self) -> list[SweepResult]:
        """Sweep every target; returns their results in order (each also to ``on_host_done``)."""
        slots: dict[int, SweepResult] = {}
        done_hook = self.on_host_done

        def finished(index: int, host: Host, result: SweepResult) -> None:
            slots[index] = result
            if done_hook is not None:
                done_hook(index, host, result)

        _Loop(self, finished).run()
        return [slots[index] for index in range(len(self.targets))]


def _unconnectable(_address: tuple[str, int] | tuple[str, int, int, int]) -> int:
    raise AssertionError("no socket to connect")  # never called: a socket is made first


def sweep_host(host: Host, ports: Sequence[int], options: TcpOptions | None = None) -> SweepResult:
    """One host's sweep, blocking: for tests and tools."""
    return Sweep([(host, ports)], options or TcpOptions()).run()[0]


class _Loop:
    """The state of one ``Sweep.run``: kept out of the hot loop's locals where it is cold."""

    def __init__(self, sweep: Sweep, finished: Callable[[int, Host, SweepResult], None]) -> None:
        self.sweep, self.finished = sweep, finished
        self.options = sweep.options
        self.waiting: Iterator[tuple[int, tuple[Host, Sequence[int]]]] = enumerate(sweep.targets)
        self.active: deque[_HostState] = deque()
        self.global_rtt = RttEstimator(sweep.options)
        self.pending: dict[int, tuple[_socket.socket, int, float, int, _HostState]] = {}
        self.answered = 0

    def _activate(self) -> None:
        while len(self.active) < MAX_ACTIVE_HOSTS:
            target = next(self.waiting, None)
            if target is None:
                return
            index, (host, ports) = target
            text = str(host.address)
            address = (text, 0, 0, 0) if host.family == socket.AF_INET6 else (text, 0)
            queue = deque((port, 0) for port in ports)
            state = _HostState(index, host, address, queue, len(ports), self._estimator())
            if state.total == 0:
                self.finished(index, host, state.result)
                continue
            self.active.append(state)

    def _estimator(self) -> RttEstimator:
        return RttEstimator(self.options)

    def _timeout(self, state: _HostState) -> float:
        return (state.rtt if state.rtt.srtt is not None else self.global_rtt).timeout

    def _settle(self, state: _HostState, count: int = 1) -> None:
        state.done += count
        self.answered += count
        if state.done == state.total:
            self._retire(state)

    def _retire(self, state: _HostState) -> None:
        self.active.remove(state)
        self.finished(state.index, state.host, state.result)
        self._activate()

    def _timed_out(self, state: _HostState, port: int, tries: int) -> None:
        if tries > 0:
            state.retries_out -= 1
        if tries < self.options.retries and (state.retries_useful or state.retries_sent < RETRY_SAMPLE):
            state.retries_sent += 1
            state.retries_out += 1
            state.result.retries += 1
            state.queue.append((port, tries + 1))
            return
        state.result.states[port] = _FILTERED
        if tries < self.options.retries:
            state.deferred.append(port)  # until the sample of retries has spoken
        else:
            self._settle(state)
        self._release_deferred(state)

    def _answered_retry(self, state: _HostState) -> None:
        state.retries_out -= 1
        if not state.retries_useful:
            state.retries_useful = True
            for port in state.deferred:
                state.retries_sent += 1
                state.retries_out += 1
                state.result.retries += 1
                state.queue.append((port, 1))
            state.deferred.clear()

    def _release_deferred(self, state: _HostState) -> None:
        if state.deferred and state.retries_out == 0 and not state.retries_useful:
            count = len(state.deferred)
            state.deferred.clear()
            self._settle(state, count)

    def run(self) -> None:
        sweep = self.sweep
        limit = max(16, min(sweep.in_flight, raise_fd_limit() - FD_RESERVE))
        per_host = max(1, sweep.per_host_in_flight)
        pending, active = self.pending, self.active
        poller = select.epoll()
        wake = os.eventfd(0, os.EFD_NONBLOCK)
        poller.register(wake, select.EPOLLIN)
        new_socket, kind = _socket.socket, socket.SOCK_STREAM | socket.SOCK_NONBLOCK
        sol, so_error = socket.SOL_SOCKET, socket.SO_ERROR
        in_progress, already, refused = errno.EINPROGRESS, errno.EALREADY, errno.ECONNREFUSED
        register, epollout = poller.register, select.EPOLLOUT
        ipproto_ipv6, ipv6_only = socket.IPPROTO_IPV6, socket.IPV6_V6ONLY
        on_open, on_progress = sweep.on_open, sweep.on_progress
        grant, batch = sweep.grant, max(1, sweep.grant_batch)
        credit = 0 if grant is not None else -1  # -1: unpaced
        granted: concurrent.futures.Future[None] | None = None
        last_progress = last_check = 0.0
        answered = 0
        # A socket whose connect() was refused is back to unconnected (Linux): it connects again,
        # so a closed port costs two connect() calls and no socket()/close(). One per family.
        spares: dict[int, _socket.socket] = {}
        closed = _CLOSED

        def opened(state: _HostState, sock: _socket.socket, port: int, elapsed: float) -> None:
            if _is_self_connect(sock):
                state.result.states[port] = _CLOSED
                sock.close()
                return
            state.result.states[port] = _OPEN
            rtt_ms = state.result.open_rtt_ms[port] = round(elapsed * 1000, 3)
            _reset_close(sock)
            if on_open is not None:
                on_open(state.host, PortResult(port, OPEN, rtt_ms))

        try:
            self._activate()
            while active:
                if sweep.cancelled.is_set():
                    raise ScanCancelled
                now = time.monotonic()
                if granted is not None and granted.done():
                    granted.result()
                    granted, credit = None, credit + batch
                more = False  # probes that could go right now: the poll must not block then
                for _turn in range(len(active)):
                    if not active or len(pending) >= limit or credit == 0:
                        break
                    state = active[0]
                    active.rotate(-1)
                    queue, states = state.queue, state.result.states
                    target = state.address[0]
                    v6 = len(state.address) == 4
                    family = socket.AF_INET6 if v6 else socket.AF_INET
                    # A turn sends at most ``per_host`` probes, answered at once or not, so the
                    # loop still comes round to cancellation, timeouts and progress. Each probe
                    # adds at most one to what is in flight: the bounds hold for the whole turn.
                    turn = min(per_host - state.pending, limit - len(pending), len(queue))
                    if credit >= 0:
                        turn = min(turn, credit)
                    sock = spares.pop(family, None)
                    connect = sock.connect_ex if sock is not None else _unconnectable
                    sent, before = turn, state.pending
                    popleft = queue.popleft
                    for _probe in range(turn):
                        port, tries = popleft()
                        if sock is None:
                            try:
                                sock = new_socket(family, kind)
                            except OSError as error:
                                if error.errno not in BUSY:
                                    raise
                                queue.appendleft((port, tries))
                                limit = max(16, len(pending) - 16)
                                sent = _probe
                                break
                            if v6:  # an IPv6 socket must never reach an IPv4 host (mapped addresses)
                                sock.setsockopt(ipproto_ipv6, ipv6_only, 1)
                            connect = sock.connect_ex
                        to = (target, port, 0, 0) if v6 else (target, port)
                        code = connect(to)
                        if code == in_progress:
                            # Where the answer came within the call (a local refusal: loopback, a
                            # reject rule on this host), a second connect() returns it (or 0 once
                            # connected, EALREADY while still waiting): no epoll round for it.
                            code = connect(to)
                        if code == refused:
                            states[port] = closed
                            if tries:
                                self._answered_retry(state)
                            continue
                        if code == already:
                            fd = sock.fileno()
                            register(fd, epollout)
                            entry = (sock, port, now, tries, state)
                            pending[fd] = entry
                            state.in_flight.append((fd, entry))
                            state.pending += 1
                        elif code in BUSY:
                            sock.close()
                            queue.appendleft((port, tries))
                            limit = max(16, len(pending) - 16)
                            sock = None
                            sent = _probe
                            break
                        else:
                            if code == 0:
                                opened(state, sock, port, 0.0)
                            else:
                                states[port] = _answer(code)
                                sock.close()
                            if tries:
                                self._answered_retry(state)
                        sock = None
                    if sock is not None:
                        spares[family] = sock
                    if credit > 0:
                        credit -= sent
                    immediate = sent - (state.pending - before)  # the rest went in flight
                    if queue and state.pending < per_host and len(pending) < limit and credit != 0:
                        more = True
                    if immediate:
                        self.answered = answered
                        self._settle(state, immediate)  # may retire the host: the turn moves on
                        answered = self.answered
                if credit == 0 and granted is None and grant is not None:
                    granted = grant(batch)
                    granted.add_done_callback(lambda _f: os.eventfd_write(wake, 1))
                events = poller.poll(0 if more else POLL_WAIT if pending or granted is not None else 0, 4096)
                now = time.monotonic()
                for fd, _mask in events:
                    if fd == wake:
                        os.eventfd_read(wake)
                        continue
                    sock, port, started, tries, state = pending.pop(fd)
                    state.pending -= 1
                    code = sock.getsockopt(sol, so_error)
                    if code == 0:
                        opened(state, sock, port, now - started)
                    else:
                        state.result.states[port] = _CLOSED if code == refused else _answer(code)
                        sock.close()  # closing also removes it from the epoll set
                    if state.done & 15 == 0:  # a sample in 16 follows the round trip closely enough
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
                    self._expire(now)
                    answered = self.answered
                if on_progress is not None and (now - last_progress > PROGRESS_EVERY or not active):
                    last_progress = now
                    on_progress(answered)
        finally:
            for sock, *_ in pending.values():
                sock.close()
            pending.clear()
            for sock in spares.values():
                sock.close()
            poller.close()
            os.close(wake)
            if granted is not None:
                granted.cancel()
        if on_progress is not None:
            on_progress(answered)

    def _expire(self, now: float) -> None:
        for state in list(self.active):
            timeout, in_flight = self._timeout(state), state.in_flight
            while in_flight:
                fd, entry = in_flight[0]
                if self.pending.get(fd) is not entry:
                    in_flight.popleft()  # answered already
                    continue
                sock, port, started, tries, _ = entry
                if now - started <= timeout:
                    break
                in_flight.popleft()
                del self.pending[fd]
                state.pending -= 1
                sock.close()
                self._timed_out(state, port, tries)
