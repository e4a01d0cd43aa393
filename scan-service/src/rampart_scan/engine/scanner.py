"""The engine's entry point: scan targets, yielding progress and findings as they happen.

    async for event in scan(["127.0.0.1"], EngineOptions(ports="1-1000", service_detection=True)):
        ...

Each host is swept in worker threads (see ``tcp``); service detection and the TLS audit start
on a port the moment it is found open, so they overlap the rest of the sweep. Closing the
iterator (or cancelling the task that drives it) stops the sweep within a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal

from rampart_scan.engine.exclusions import NO_EXCLUSIONS, Exclusions
from rampart_scan.engine.oshints import OsHint, os_hint
from rampart_scan.engine.pacing import Pacer
from rampart_scan.engine.ports import parse_ports
from rampart_scan.engine.services import ServiceInfo, detect
from rampart_scan.engine.targets import Host, expand_targets
from rampart_scan.engine.tcp import FILTERED, OPEN, PortResult, Sweep, SweepResult, TcpOptions
from rampart_scan.engine.tls import TlsReport, audit

PARALLEL_SWEEP_MIN_PORTS = 4096  # below this one thread is as fast as two
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
    protocol: Literal["tcp", "udp"] = "tcp"
    rate: float | None = None  # probes per second for this call; None: as fast as answers come
    pacer: Pacer | None = None  # shared by many calls (a scan's shards, an organisation)
    in_flight: int = 4096  # probes outstanding at once, all hosts together (descriptors)
    per_host_in_flight: int = 1024  # no single target gets more than this at once

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


def _merge(parts: list[SweepResult]) -> SweepResult:
    merged = SweepResult()
    for part in parts:
        merged.states = bytearray(max(a, b) for a, b in zip(merged.states, part.states, strict=True))
        merged.open_rtt_ms.update(part.open_rtt_ms)
    return merged


@dataclass
class _HostRun:
    """One host: the sweep threads, the detection tasks, and the events they produce."""

    host: Host
    ports: list[int]
    options: EngineOptions
    offset: int  # ports already done on earlier hosts, for overall progress
    grand_total: int
    events: asyncio.Queue[Event] = field(default_factory=asyncio.Queue)
    cancelled: threading.Event = field(default_factory=threading.Event)
    findings: dict[int, PortFinding] = field(default_factory=dict)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.limit = asyncio.Semaphore(self.options.detection_concurrency)

    def _from_thread(self, event: Event) -> None:
        self.loop.call_soon_threadsafe(self.events.put_nowait, event)

    def _progress(self, done: int, _total: int) -> None:
        overall = self.offset + done
        percent = min(99, overall * 100 // max(self.grand_total, 1))
        self._from_thread(Progress(self.host, overall, self.grand_total, percent))

    def _opened(self, result: PortResult) -> None:
        self.loop.call_soon_threadsafe(self._found, result)

    def _found(self, result: PortResult) -> None:
        finding = PortFinding(result.port, OPEN, result.rtt_ms)
        self.findings[result.port] = finding
        self.events.put_nowait(PortFound(self.host, finding))
        if self.options.service_detection or self.options.ssl_check:
            task = asyncio.create_task(self._inspect(finding))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def _inspect(self, finding: PortFinding) -> None:
        async with self.limit:
            if self.options.service_detection:
                finding.service = await detect(self.host, finding.port, self.options.service_budget)
            speaks_tls = finding.service.tls if finding.service is not None else True
            if self.options.ssl_check and speaks_tls:
                finding.tls = await audit(self.host, finding.port)
        self.events.put_nowait(ServiceFound(self.host, finding))

    def _sweep(self) -> SweepResult:
        workers = 2 if len(self.ports) >= PARALLEL_SWEEP_MIN_PORTS and (os.cpu_count() or 1) > 1 else 1
        parts = [self.ports[i::workers] for i in range(workers)]
        sweeps = [
            Sweep(self.host, part, self.options.tcp, self._opened, None, self.cancelled) for part in parts
        ]
        if workers == 1:
            sweeps[0].on_progress = self._progress
            return sweeps[0].run()
        done = [0] * workers

        def progress_of(index: int) -> Callable[[int, int], None]:
            def report(count: int, _total: int) -> None:
                done[index] = count
                self._progress(sum(done), len(self.ports))

            return report

        for index, sweep in enumerate(sweeps):
            sweep.on_progress = progress_of(index)
        with ThreadPoolExecutor(workers, thread_name_prefix="sweep") as pool:
            # map re-raises a worker's exception (ScanCancelled included) here
            return _merge(list(pool.map(Sweep.run, sweeps)))

    async def run(self) -> AsyncIterator[Event]:
        started = time.monotonic()
        sweep = asyncio.ensure_future(asyncio.to_thread(self._sweep))
        try:
            while not sweep.done() or self.tasks or not self.events.empty():
                getter = asyncio.ensure_future(self.events.get())
                waiting: set[asyncio.Future[Any]] = {getter, *self.tasks}
                if not sweep.done():
                    waiting.add(sweep)
                done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
                if getter in done:
                    yield getter.result()
                else:
                    getter.cancel()
            result = sweep.result()
        finally:
            self.cancelled.set()
            for task in self.tasks:
                task.cancel()
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(asyncio.shield(sweep), timeout=2)
        filtered = result.ports(FILTERED) if result.counts()[FILTERED] <= MAX_LISTED_FILTERED else []
        open_ports = [
            self.findings.get(port) or PortFinding(port, OPEN, result.open_rtt_ms.get(port))
            for port in sorted(result.open_rtt_ms)
        ]
        services = [(f.port, f.service) for f in open_ports if f.service is not None]
        hint = os_hint(services) if self.options.os_detection else None
        yield HostDone(
            HostReport(
                self.host, result.counts(), open_ports, filtered, hint, round(time.monotonic() - started, 3)
            )
        )


async def scan_hosts(
    hosts: list[Host], options: EngineOptions, exclude: Exclusions = NO_EXCLUSIONS
) -> AsyncIterator[Event]:
    """Scan exactly these (already authorised) addresses, leaving out the excluded endpoints."""
    ports = parse_ports(options.ports)
    total = len(hosts) * len(ports)
    for index, host in enumerate(hosts):
        skipped = exclude.ports_of(host.address)
        host_ports = [port for port in ports if port not in skipped] if skipped else ports
        run = _HostRun(host, host_ports, options, index * len(ports), total)
        async for event in run.run():
            yield event


async def scan(targets: list[str], options: EngineOptions) -> AsyncIterator[Event]:
    """Scan every host of every target; raises InvalidTarget / InvalidPortSpec before any packet."""
    parse_ports(options.ports)
    hosts = await expand_targets(targets, options.max_hosts)
    async for event in scan_hosts(hosts, options):
        yield event
