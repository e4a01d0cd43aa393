"""TCP connect scanning on a direct epoll loop (no privileges needed).

Measured on this machine against all 65,535 ports of 127.0.0.1: about 1.7 s with this loop,
9.4 s with asyncio ``sock_connect`` on uvloop, so the sweep runs here, in a worker thread,
and reports back to the event loop through callbacks. One loop sweeps many hosts at once
(see ``sweep``): a global budget of probes in flight, a cap per host, a round-trip estimate
per host (the whole sweep's until the host has answered), and retries only where they have
been seen to change an answer on that host.
"""

from __future__ import annotations

import _socket
import contextlib
import errno
import resource
import socket
import struct
from dataclasses import dataclass, field

OPEN, CLOSED, FILTERED = "open", "closed", "filtered"
LINGER_RESET = struct.pack("ii", 1, 0)  # close with RST: no TIME_WAIT left behind
FD_RESERVE = 256  # descriptors kept free for the rest of the process
PROGRESS_EVERY = 0.1  # seconds between progress callbacks
POLL_SLICE = 0.05  # the longest the loop blocks, so cancellation lands within a second
BUSY = (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.EADDRNOTAVAIL, errno.EAGAIN)


class ScanCancelled(Exception):
    """The caller asked the scan to stop."""


@dataclass(frozen=True)
class TcpOptions:
    """Timing of one sweep; ``fast()`` trades completeness for speed."""

    concurrency: int = 2048
    initial_timeout: float = 1.0
    min_timeout: float = 0.1
    max_timeout: float = 3.0
    retries: int = 1  # for timeouts only; a refusal is an answer

    @classmethod
    def fast(cls) -> TcpOptions:
        return cls(concurrency=4096, initial_timeout=0.5, min_timeout=0.05, max_timeout=1.0, retries=0)


STATE_NAMES = {1: OPEN, 2: CLOSED, 3: FILTERED}
_OPEN, _CLOSED, _FILTERED = 1, 2, 3


@dataclass(frozen=True)
class PortResult:
    port: int
    state: str
    rtt_ms: float | None = None


@dataclass
class SweepResult:
    """Every port's state in one bytearray (65,536 bytes), with round-trip times of open ports."""

    states: bytearray = field(default_factory=lambda: bytearray(65536))
    open_rtt_ms: dict[int, float] = field(default_factory=dict)
    retries: int = 0  # probes sent again after a timeout

    def state(self, port: int) -> str | None:
        return STATE_NAMES.get(self.states[port])

    def ports(self, state: str) -> list[int]:
        code = {name: code for code, name in STATE_NAMES.items()}[state]
        found, states, at = [], self.states, self.states.find(code)
        while at >= 0:
            found.append(at)
            at = states.find(code, at + 1)
        return found

    def counts(self) -> dict[str, int]:
        return {name: self.states.count(code) for code, name in STATE_NAMES.items()}


@dataclass
class RttEstimator:
    """Round-trip estimate as in RFC 6298; the timeout follows what the host answers."""

    options: TcpOptions
    srtt: float | None = None
    rttvar: float = 0.0

    def sample(self, rtt: float) -> None:
        if self.srtt is None:
            self.srtt, self.rttvar = rtt, rtt / 2
        else:
            self.rttvar = 0.75 * self.rttvar + 0.25 * abs(self.srtt - rtt)
            self.srtt = 0.875 * self.srtt + 0.125 * rtt

    @property
    def timeout(self) -> float:
        if self.srtt is None:
            return self.options.initial_timeout
        estimate = self.srtt + max(4 * self.rttvar, 0.01)
        return min(max(estimate, self.options.min_timeout), self.options.max_timeout)


def raise_fd_limit() -> int:
    """Raise the soft descriptor limit to the hard one where allowed; returns the soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):
            pass
    return soft


def _answer(code: int) -> int:
    return _CLOSED if code == errno.ECONNREFUSED else _FILTERED  # unreachable, prohibited: filtered


def _is_self_connect(sock: _socket.socket) -> bool:
    """The kernel's TCP self-connect: local port == remote port, nobody listening."""
    try:
        return bool(sock.getsockname() == sock.getpeername())
    except OSError:
        return False


def _reset_close(sock: _socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER_RESET)
    sock.close()
