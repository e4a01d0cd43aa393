"""The engine's entry point: scan targets, yielding progress and findings as they happen.

    async for event in scan(["127.0.0.1"], EngineOptions(ports="1-1000", service_detection=True)):
        ...

All hosts are swept at once in worker threads (see ``sweep``), big connect sweeps in two helper
processes driven from those threads (see ``procs``); service detection and the TLS audit start
on a port the moment it is found open, so they overlap the rest of the sweep. Closing the
iterator (or cancelling the task that drives it) stops the sweep within a second.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import os
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Literal

from rampart_scan.engine import procs
from rampart_scan.engine.exclusions import NO_EXCLUSIONS, Exclusions
from rampart_scan.engine.facts import detect_with_facts
from rampart_scan.engine.oshints import OsHint, os_hint
from rampart_scan.engine.pacing import Pacer, pacer_for
from rampart_scan.engine.ports import parse_ports
from rampart_scan.engine.services import ServiceInfo
from rampart_scan.engine.sweep import Sweep
from rampart_scan.engine.syn import SynSweep
from rampart_scan.engine.targets import Host, expand_targets
from rampart_scan.engine.tcp import FILTERED, OPEN, PortResult, ScanCancelled, SweepResult, TcpOptions
from rampart_scan.engine.tls import TlsReport, audit

log = logging.getLogger(__name__)

PARALLEL_SWEEP_MIN_PORTS = 4096  # below this one thread is as fast as two
HELPER_PARTS = 8  # parts of a sweep in helper processes: small enough to share out evenly
MAX_LISTED_FILTERED = 1000  # above this, filtered ports are counted, not listed


@dataclass(frozen=True)
class EngineOptions:
    ports: str = "1-1000"
    service_detection: bool = False
    ssl_check: bool = False
    os_detection: bool = False
    fast_mode: bool = False
    max_hosts: int = 256
    detection_concurrency: int = 32
    pentest: bool = False  # checks beyond a handshake (anonymous FTP login): the pentest profile only
    protocol: Literal["tcp", "udp"] = "tcp"
    rate: float | None = None  # probes per second for this call; None: as fast as answers come
    pacer: Pacer | None = None  # shared by many calls (a scan's shards, an organisation)
    in_flight: int = 4096  # probes outstanding at once, all hosts together (descriptors)
    per_host_in_flight: int = 1024  # no single target gets more than this at once
    # TCP probes: "connect" (unprivileged) or "syn" (raw half-open SYNs; CAP_NET_RAW, engine.syn)
    tcp_method: Literal["connect", "syn"] = "connect"
    # Big unpaced connect sweeps run in helper processes (engine.procs); False: threads only.
    helper_processes: bool = True

    @property
    def tcp(self) -> TcpOptions:
        return TcpOptions.fast() if self.fast_mode else TcpOptions()

    @property
    def service_budget(self) -> float:
        return 3.0 if self.fast_mode else 8.0


@dataclass
class PortFinding:
    port: int
    state: str
    rtt_ms: float | None = None
    service: ServiceInfo | None = None
    tls: TlsReport | None = None


@dataclass
class HostReport:
    host: Host
    counts: dict[str, int]
    open_ports: list[PortFinding]
    filtered_ports: list[int]
    os: OsHint | None
    duration_seconds: float


@dataclass(frozen=True)
class Progress:
    host: Host
    ports_done: int
    ports_total: int
    percent: int


@dataclass(frozen=True)
class PortFound:
    host: Host
    finding: PortFinding


@dataclass(frozen=True)
class ServiceFound:
    host: Host
    finding: PortFinding


@dataclass(frozen=True)
class HostDone:
    report: HostReport


Event = Progress | PortFound | ServiceFound | HostDone


def _merge(into: SweepResult, part: SweepResult) -> None:
    # The parts of a striped host probed different ports: each port's state is in one part only.
    merged = int.from_bytes(into.states) | int.from_bytes(part.states)
    into.states[:] = merged.to_bytes(len(into.states))
    into.open_rtt_ms.update(part.open_rtt_ms)


Work = list[tuple[Host, list[int]]]


def _plan(targets: Work, parts: int = 2) -> list[list[tuple[int, Host, list[int]]]]:
    """The sweep's parts (target index, host, ports), taken in turn by the sweep threads: hosts
    dealt out, or where there are fewer hosts than parts, every host's ports striped."""
    probes = sum(len(ports) for _, ports in targets)
    if probes < PARALLEL_SWEEP_MIN_PORTS or (os.cpu_count() or 1) < 2:
        parts = 1
    numbered = [(index, host, ports) for index, (host, ports) in enumerate(targets)]
    if parts == 1:
        return [numbered]
    if len(targets) < parts:
        return [[(index, host, ports[i::parts]) for index, host, ports in numbered] for i in range(parts)]
    return [numbered[i::parts] for i in range(parts)]


def _grant_batch(rate: float | None) -> int:
    """Probes asked of the pacer at once: about 20 grants a second at the given rate, 32 at most."""
    return 32 if rate is None else max(1, min(32, int(rate / 20)))


class _Run:
    """One scan call: the sweep threads, the detection tasks, and the events they produce."""

    def __init__(self, targets: Work, options: EngineOptions) -> None:
        self.targets, self.options = targets, options
        self.loop = asyncio.get_running_loop()
        self.events: asyncio.Queue[Event] = asyncio.Queue()
        self.cancelled = threading.Event()
        self.tasks: set[asyncio.Task[None]] = set()
        self.limit = asyncio.Semaphore(options.detection_concurrency)
        self.pacer = pacer_for(options.rate, options.pacer)
        # SYN: one thread; a second (own raw socket and source port) was not faster here (measured).
        self.workers = 1 if options.tcp_method == "syn" else 2
        # In helper processes, smaller parts taken in turn: both helpers finish at about the same time.
        self.remote = options.helper_processes and options.tcp_method == "connect" and self.pacer is None
        self.plan = _plan(targets, HELPER_PARTS if self.remote else self.workers)
        self.workers = min(self.workers, len(self.plan))
        self.total = sum(len(ports) for _, ports in targets)
        self.answered = [0] * len(self.plan)
        self.parts_left = [0] * len(targets)
        for work in self.plan:
            for index, _, _ in work:
                self.parts_left[index] += 1
        self.partial: dict[int, SweepResult] = {}
        # Keyed by address: the same address listed twice is one set of findings.
        self.findings: dict[Host, dict[int, PortFinding]] = {host: {} for host, _ in targets}
        self.host_tasks: dict[Host, set[asyncio.Task[None]]] = {host: set() for host, _ in targets}
        self.started = time.monotonic()
        self.last_host = targets[0][0] if targets else None

    def _spawn(self, coroutine: Coroutine[Any, Any, None], host: Host | None = None) -> None:
        task = asyncio.create_task(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        if host is not None:
            self.host_tasks[host].add(task)
            task.add_done_callback(self.host_tasks[host].discard)

    def _progress_of(self, index: int) -> Callable[[int], None]:
        def report(answered: int) -> None:
            self.answered[index] = answered
            self.loop.call_soon_threadsafe(self._progress)

        return report

    def _progress(self) -> None:
        done = sum(self.answered)
        if self.last_host is not None:
            percent = min(99, done * 100 // max(self.total, 1))
            self.events.put_nowait(Progress(self.last_host, done, self.total, percent))

    def _opened(self, host: Host, result: PortResult) -> None:
        self.loop.call_soon_threadsafe(self._found, host, result)

    def _found(self, host: Host, result: PortResult) -> None:
        finding = PortFinding(result.port, OPEN, result.rtt_ms)
        self.findings[host][result.port] = finding
        self.events.put_nowait(PortFound(host, finding))
        if self.options.service_detection or self.options.ssl_check:
            self._spawn(self._inspect(host, finding), host)

    async def _inspect(self, host: Host, finding: PortFinding) -> None:
        async with self.limit:
            if self.options.service_detection:
                finding.service = await detect_with_facts(
                    host, finding.port, self.options.service_budget, self.options.pentest
                )
            speaks_tls = finding.service.tls if finding.service is not None else True
            if self.options.ssl_check and speaks_tls:
                finding.tls = await audit(host, finding.port)
            if finding.tls is not None and finding.tls.weak_ciphers and finding.service is not None:
                finding.service.facts["tls.weak_ciphers"] = ",".join(finding.tls.weak_ciphers)
        self.events.put_nowait(ServiceFound(host, finding))

    def _swept_of(self, work: list[tuple[int, Host, list[int]]]) -> Callable[[int, Host, SweepResult], None]:
        def swept(position: int, host: Host, result: SweepResult) -> None:
            self.loop.call_soon_threadsafe(self._host_swept, work[position][0], host, result)

        return swept

    def _host_swept(self, index: int, host: Host, result: SweepResult) -> None:
        if index in self.partial:
            _merge(self.partial[index], result)
        else:
            self.partial[index] = result
        self.parts_left[index] -= 1
        self.last_host = host
        if self.parts_left[index] == 0:
            self._spawn(self._finish(host, self.partial.pop(index)))

    async def _finish(self, host: Host, result: SweepResult) -> None:
        """HostDone once the host's detection is over; other hosts' sweeps go on meanwhile."""
        while self.host_tasks[host]:
            await asyncio.wait(set(self.host_tasks[host]))
        counts = result.counts()
        filtered = result.ports(FILTERED) if counts[FILTERED] <= MAX_LISTED_FILTERED else []
        findings = self.findings.get(host, {})
        open_ports = [
            findings.get(port) or PortFinding(port, OPEN, result.open_rtt_ms.get(port))
            for port in sorted(result.open_rtt_ms)
        ]
        services = [(f.port, f.service) for f in open_ports if f.service is not None]
        hint = os_hint(services) if self.options.os_detection else None
        elapsed = round(time.monotonic() - self.started, 3)
        self.events.put_nowait(HostDone(HostReport(host, counts, open_ports, filtered, hint, elapsed)))

    def _grant(self, n: int) -> concurrent.futures.Future[None]:
        assert self.pacer is not None
        return asyncio.run_coroutine_threadsafe(self.pacer.take(n), self.loop)

    def _sweep(
        self, index: int, work: list[tuple[int, Host, list[int]]], helper: procs.Helper | None
    ) -> None:
        share = self.workers  # parts swept at once
        striped = share if len(work) == len(self.targets) < len(self.plan) else 1
        if helper is not None:
            procs.sweep_in(
                helper,
                [(host, ports) for _, host, ports in work],
                self.options.tcp,
                in_flight=max(16, self.options.in_flight // share),
                per_host_in_flight=max(1, self.options.per_host_in_flight // striped),
                on_open=self._opened,
                on_progress=self._progress_of(index),
                on_host_done=self._swept_of(work),
                cancelled=self.cancelled,
            )
            return
        kind = SynSweep if self.options.tcp_method == "syn" else Sweep
        kind(
            [(host, ports) for _, host, ports in work],
            self.options.tcp,
            on_open=self._opened,
            on_progress=self._progress_of(index),
            on_host_done=self._swept_of(work),
            cancelled=self.cancelled,
            in_flight=max(16, self.options.in_flight // share),
            # One host striped over the threads shares its cap; hosts dealt out keep theirs.
            per_host_in_flight=max(1, self.options.per_host_in_flight // striped),
            grant=self._grant if self.pacer is not None else None,
            grant_batch=_grant_batch(self.options.rate),
        ).run()

    async def _helpers(self) -> list[procs.Helper | None]:
        """Helper processes for the sweep's parts where that pays, else None for each (threads)."""
        wanted = self.workers
        if wanted < 2 or not self.remote:
            return [None] * wanted
        try:
            helpers = await asyncio.to_thread(procs.acquire, wanted)
        except Exception:  # no processes here (limits, a sandbox): threads do the same work
            log.warning("no sweep helper processes; sweeping in threads", exc_info=True)
            helpers = None
        return list(helpers) if helpers is not None else [None] * wanted

    async def run(self) -> AsyncIterator[Event]:
        helpers = await self._helpers()
        parts = deque(enumerate(self.plan))

        def take_parts(helper: procs.Helper | None) -> None:
            while not self.cancelled.is_set():
                try:
                    index, work = parts.popleft()
                except IndexError:
                    return
                self._sweep(index, work, helper)
            raise ScanCancelled

        sweeps = [asyncio.ensure_future(asyncio.to_thread(take_parts, helper)) for helper in helpers]
        try:
            while not all(s.done() for s in sweeps) or self.tasks or not self.events.empty():
                getter = asyncio.ensure_future(self.events.get())
                waiting: set[asyncio.Future[Any]] = {getter, *self.tasks}
                waiting.update(s for s in sweeps if not s.done())
                done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
                if getter in done:
                    yield getter.result()
                else:
                    getter.cancel()
                for sweep in sweeps:
                    if sweep.done():
                        sweep.result()  # a sweep's exception (ScanCancelled included) surfaces here
        finally:
            self.cancelled.set()
            for task in self.tasks:
                task.cancel()
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(asyncio.gather(*sweeps, return_exceptions=True), timeout=2)


async def scan_hosts(
    hosts: list[Host], options: EngineOptions, exclude: Exclusions = NO_EXCLUSIONS
) -> AsyncIterator[Event]:
    """Scan exactly these (already authorised) addresses, leaving out the excluded endpoints.

    All hosts are swept at once; each host's ``HostDone`` comes as soon as that host is done.
    """
    ports = parse_ports(options.ports)
    targets: Work = []
    for host in hosts:
        skipped = exclude.ports_of(host.address)
        targets.append((host, [port for port in ports if port not in skipped] if skipped else ports))
    if options.protocol == "udp":
        from rampart_scan.engine.udp import udp_scan

        runner = udp_scan(targets, options)
    else:
        runner = _Run(targets, options).run()
    async for event in runner:
        yield event


async def scan(targets: list[str], options: EngineOptions) -> AsyncIterator[Event]:
    """Scan every host of every target; raises InvalidTarget / InvalidPortSpec before any packet."""
    parse_ports(options.ports)
    hosts = await expand_targets(targets, options.max_hosts)
    async for event in scan_hosts(hosts, options):
        yield event
