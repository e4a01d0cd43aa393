"""Connect sweeps in helper processes, so that two sweeps really run at once.

Two sweep threads of one process share the interpreter lock: measured on this machine, two
threads took as long as one, and two processes about half as long (see docs/benchmarks.md).
A few long-lived helper processes (``python -m rampart_scan.engine.procs``, started on first
use: nothing of the worker's gRPC or broker state is inherited, no main module re-imported)
each take one part of a sweep at a time and stream back what it finds: ports found open,
progress, each host's result. Where no helper is free or none can start, the caller sweeps in
threads instead.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import logging
import queue
import signal
import socket
import subprocess
import sys
import threading
import zlib
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from typing import Any

from rampart_scan.engine.sweep import Sweep
from rampart_scan.engine.targets import Host
from rampart_scan.engine.tcp import OPEN, PortResult, ScanCancelled, SweepResult, TcpOptions

log = logging.getLogger(__name__)

MAX_HELPERS = 2  # helper processes kept for the whole worker process
POLL = 0.05  # the longest the reading thread waits before looking at cancellation again

_Job = tuple[int, list[tuple[Host, Sequence[int]]], TcpOptions, int, int]


def _serve(conn: Connection) -> None:
    """A helper's life: sweep each job received, stream its events back, until the pipe closes."""
    jobs: queue.Queue[_Job | None] = queue.Queue()
    cancel = threading.Event()
    current = [-1]

    def read() -> None:
        while True:
            try:
                message = conn.recv()
            except (EOFError, OSError):
                message = None
            if message is None:
                cancel.set()  # the caller is gone: stop what runs
                jobs.put(None)
                return
            if message[0] == "cancel":
                if message[1] == current[0]:
                    cancel.set()
            else:  # here, in the order messages came: a cancel right behind its job is not lost
                current[0] = message[1][0]
                cancel.clear()
                jobs.put(message[1])

    threading.Thread(target=read, daemon=True).start()
    while (job := jobs.get()) is not None:
        _number, targets, options, in_flight, per_host = job
        sweep = Sweep(
            targets,
            options,
            on_open=lambda host, found: conn.send(("open", host, found.port, found.rtt_ms)),
            on_progress=lambda answered: conn.send(("progress", answered)),
            on_host_done=lambda index, _host, result: conn.send(
                ("done", index, zlib.compress(result.states, 1), result.open_rtt_ms, result.retries)
            ),
            cancelled=cancel,
            in_flight=in_flight,
            per_host_in_flight=per_host,
        )
        try:
            try:
                sweep.run()
            except ScanCancelled:
                conn.send(("cancelled",))
            except Exception as error:  # reported to the caller, which raises it there
                conn.send(("error", f"{type(error).__name__}: {error}"))
            else:
                conn.send(("end",))
        except (EOFError, OSError):
            return  # the caller is gone (a killed worker): nobody to report to


class Helper:
    """One helper process and the pipe to it."""

    def __init__(self) -> None:
        ours, theirs = socket.socketpair()
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "rampart_scan.engine.procs", str(theirs.fileno())],
                pass_fds=[theirs.fileno()],
                stdin=subprocess.DEVNULL,
            )
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        self.conn = Connection(ours.detach())
        self.busy = False

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, grace: float = 0.0) -> None:
        """Close the pipe (the helper then exits); killed if still there after ``grace`` seconds."""
        with contextlib.suppress(OSError):
            self.conn.close()
        try:
            self.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)


_lock = threading.Lock()
_helpers: list[Helper] = []
_jobs = itertools.count()


@atexit.register
def shutdown() -> None:
    """Stop every helper (at exit; tests may call it)."""
    with _lock:
        helpers = list(_helpers)
        _helpers.clear()
    for helper in helpers:
        helper.stop(grace=1.0)


def acquire(count: int) -> list[Helper] | None:
    """``count`` idle helpers (started if need be), or None when that many cannot be had."""
    with _lock:
        _helpers[:] = [helper for helper in _helpers if helper.alive()]
        idle = [helper for helper in _helpers if not helper.busy]
        while len(idle) < count and len(_helpers) < MAX_HELPERS:
            helper = Helper()
            _helpers.append(helper)
            idle.append(helper)
        if len(idle) < count:
            return None
        for helper in idle[:count]:
            helper.busy = True
        return idle[:count]


def _release(helper: Helper, healthy: bool) -> None:
    with _lock:
        if healthy:
            helper.busy = False
            return
        if helper in _helpers:
            _helpers.remove(helper)
    helper.stop()  # in an unknown state: a new one is started when needed


def sweep_in(
    helper: Helper,
    targets: list[tuple[Host, Sequence[int]]],
    options: TcpOptions,
    *,
    in_flight: int,
    per_host_in_flight: int,
    on_open: Callable[[Host, PortResult], None],
    on_progress: Callable[[int], None],
    on_host_done: Callable[[int, Host, SweepResult], None],
    cancelled: threading.Event,
) -> None:
    """``Sweep(...).run()`` in ``helper``, its callbacks called here; blocks (a worker thread)."""
    healthy = False
    conn = helper.conn
    try:
        number = next(_jobs)
        conn.send(("job", (number, targets, options, in_flight, per_host_in_flight)))
        told = False
        while True:
            if cancelled.is_set() and not told:
                conn.send(("cancel", number))
                told = True
            if not conn.poll(POLL):
                continue
            message: tuple[Any, ...] = conn.recv()
            kind = message[0]
            if kind == "open":
                on_open(message[1], PortResult(message[2], OPEN, message[3]))
            elif kind == "progress":
                on_progress(message[1])
            elif kind == "done":
                index = message[1]
                states = bytearray(zlib.decompress(message[2]))
                on_host_done(index, targets[index][0], SweepResult(states, message[3], message[4]))
            elif kind == "end":
                healthy = True
                return
            elif kind == "cancelled":
                healthy = True
                raise ScanCancelled
            else:
                healthy = True  # the sweep failed, the helper did not
                raise RuntimeError(f"sweep in a helper process failed: {message[1]}")
    except (EOFError, OSError) as error:
        raise RuntimeError("a sweep helper process ended unexpectedly") from error
    finally:
        _release(helper, healthy)


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the worker stops; its helpers follow on EOF
    _serve(Connection(int(sys.argv[1])))
