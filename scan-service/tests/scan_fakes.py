"""In-memory stand-ins for scan-service's ports: the store, the event sink, the clock, DNS, the engine.

They follow the same contracts as the adapters (``rampart_scan.interfaces``): the fake store applies
the same compare-and-set preconditions as the Mongo repository, so a use case behaves the same
on either, and a service-layer test runs in milliseconds. (Named ``scan_fakes`` rather than
``fakes`` so it cannot shadow another service's test helpers on ``sys.path``.)
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rampart_scan.authorise import TargetAuthoriser
from rampart_scan.commands import ScanCommands
from rampart_scan.domain import (
    ACTIVE_STATES,
    COMPLETED,
    QUEUED,
    RUNNING,
    Block,
    HostResult,
    Order,
    PortCounts,
    PortResult,
    Scan,
    ScanError,
    ScanFilter,
)
from rampart_scan.durable import Leases
from rampart_scan.engine.addresses import IPAddress
from rampart_scan.engine.scanner import Event
from rampart_scan.events import PendingEvents, run_suffix, shard_jobs
from rampart_scan.execution import ScanExecution
from rampart_scan.interfaces import EngineRun, KeyRecord, Pacer, ShardLease
from rampart_scan.queries import ScanQueries
from rampart_scan.scope import LOOPBACK, ScopeBook
from rampart_scan.settings import ScanSettings
from rampart_scan.sharding import ShardExecution

START = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


class FakeClock:
    """Moves only when told to, or when a use case sleeps."""

    def __init__(self, start: datetime = START) -> None:
        self.current = start
        self.ticks = 0.0

    def now(self) -> datetime:
        return self.current

    def time(self) -> float:
        return self.current.timestamp()

    def monotonic(self) -> float:
        return self.ticks

    async def sleep(self, seconds: float) -> None:
        self.advance(seconds)
        await asyncio.sleep(0)

    def advance(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)
        self.ticks += seconds


class FakeScanRepository:
    """``ScanStore`` over dicts, with the repository's atomic preconditions."""

    def __init__(self) -> None:
        self.scans: dict[str, Scan] = {}
        self.pending: dict[str, PendingEvents] = {}  # scans whose outbox entries are still inside
        self.ports: dict[tuple[str, str, int], PortResult] = {}
        self.hosts: dict[tuple[str, str], HostResult] = {}
        self.slots: dict[str, int] = {}
        self.daily: dict[str, int] = {}
        self.keys: dict[str, KeyRecord] = {}
        self.fail_on: set[str] = set()  # method names that raise, to stop a use case half-way
        self.shards: dict[tuple[str, int], dict[str, object]] = {}
        # method names that wait until their gate opens (a slow store); ``waiting`` shows who waits
        self.gates: dict[str, asyncio.Event] = {}
        self.waiting: set[str] = set()
        self.writes: dict[str, int] = {}  # progress writes tried, by method name

    def _step(self, name: str) -> None:
        if name in self.fail_on:
            raise ConnectionError(f"store unavailable during {name}")

    async def _gate(self, name: str) -> None:
        gate = self.gates.get(name)
        if gate is not None:
            self.waiting.add(name)
            try:
                await gate.wait()
            finally:
                self.waiting.discard(name)

    async def add(self, scan: Scan, pending: PendingEvents) -> None:
        self._step("add")
        self.scans[scan.id] = scan
        self.pending[scan.id] = pending

    async def add_many(self, items: list[tuple[Scan, PendingEvents]]) -> set[str]:
        self._step("add_many")
        inserted = set()
        for scan, pending in items:
            if scan.id not in self.scans:
                self.scans[scan.id] = scan
                self.pending[scan.id] = pending
                inserted.add(scan.id)
        return inserted

    async def released(self, scan_id: str) -> None:
        self.pending.pop(scan_id, None)

    async def released_many(self, scan_ids: list[str]) -> None:
        self._step("released_many")
        for scan_id in scan_ids:
            self.pending.pop(scan_id, None)

    async def discard_unreleased(self, scan_id: str) -> None:
        if self.pending.pop(scan_id, None) is not None:
            del self.scans[scan_id]

    async def get(self, org_id: str, scan_id: str, sandbox: bool | None = None) -> Scan | None:
        scan = self.scans.get(scan_id)
        if scan is None or scan.owner.org_id != org_id:
            return None
        if sandbox is not None and scan.owner.sandbox != sandbox:
            return None
        return scan

    async def by_id(self, scan_id: str) -> Scan | None:
        return self.scans.get(scan_id)

    async def by_ids(self, scan_ids: list[str]) -> dict[str, Scan]:
        return {i: self.scans[i] for i in scan_ids if i in self.scans}

    async def find(
        self, where: ScanFilter, order: Order, skip: int, limit: int, by_key: bool = False
    ) -> tuple[list[Scan], int]:
        def matches(scan: Scan) -> bool:
            key = scan.order_key
            return (
                scan.owner.org_id == where.org_id
                and scan.owner.sandbox == where.sandbox
                and (not where.target or where.target in scan.spec.targets)
                and (not where.status or scan.status == where.status)
                and (where.min_key is None or key >= where.min_key)
                and (where.max_key is None or key < where.max_key)
                and (where.after_key is None or key > where.after_key)
            )

        def sort_value(scan: Scan) -> tuple[object, ...]:
            if by_key or order.field == "created_at":
                return (scan.order_key,)
            if order.field == "status":
                return (scan.status, scan.order_key)
            stamp = scan.completed_at.timestamp() if scan.completed_at else float("-inf")  # null first
            return (stamp, scan.order_key)

        found = sorted(filter(matches, self.scans.values()), key=sort_value, reverse=order.descending)
        return found[skip : skip + limit], len(found)

    async def cancel_queued(self, cancelled: Scan) -> Scan | None:
        current = self.scans.get(cancelled.id)
        if current is None or current.status != QUEUED:
            return None
        stored = replace(current, status=cancelled.status, completed_at=cancelled.completed_at)
        self.scans[cancelled.id] = replace(stored, updated_at=cancelled.updated_at)
        return self.scans[cancelled.id]

    async def request_cancel(self, scan_id: str) -> None:
        self.scans[scan_id] = replace(self.scans[scan_id], cancel_requested=True)

    async def claim(self, claimed: Scan, now: float) -> Scan | None:
        current = self.scans.get(claimed.id)
        if current is None or current.status not in ACTIVE_STATES or current.lease.until >= now:
            return None
        self.scans[claimed.id] = replace(
            current,
            status=RUNNING,
            lease=claimed.lease,
            stale_at=claimed.stale_at,
            started_at=claimed.started_at,
            attempts=current.attempts + 1,
        )
        return self.scans[claimed.id]

    async def renew(self, renewed: Scan) -> bool:
        current = self.scans.get(renewed.id)
        if current is None or current.status != RUNNING or current.lease.claim != renewed.lease.claim:
            return False
        self.scans[renewed.id] = replace(current, lease=renewed.lease, stale_at=renewed.stale_at)
        return True

    async def finish(self, finished: Scan, claimed: bool) -> Scan | None:
        current = self.scans.get(finished.id)
        if current is None or current.status not in ACTIVE_STATES:
            return None
        if claimed and current.lease.claim != finished.lease.claim:
            return None
        self.scans[finished.id] = replace(
            current,
            status=finished.status,
            completed_at=finished.completed_at,
            updated_at=finished.updated_at,
            counts=finished.counts,
            progress=finished.progress if finished.status == COMPLETED else current.progress,
            lease=replace(current.lease, until=finished.lease.until),
            error=finished.error or current.error,
        )
        return self.scans[finished.id]

    async def save_progress(self, scan: Scan) -> None:
        self.scans[scan.id] = replace(self.scans[scan.id], progress=scan.progress)

    async def save_counts(self, scan_id: str, counts: PortCounts) -> None:
        self.scans[scan_id] = replace(self.scans[scan_id], counts=counts)

    async def save_excluded(self, scan_id: str, endpoints: list[str]) -> None:
        self.scans[scan_id] = replace(self.scans[scan_id], excluded_endpoints=tuple(endpoints))

    async def save_port(self, scan: Scan, result: PortResult) -> None:
        key = (scan.id, result.host, result.port)
        earlier = self.ports.get(key)
        if earlier is not None:  # an upsert keeps what the new write leaves out
            result = replace(
                result,
                service=result.service or earlier.service,
                tls=result.tls or earlier.tls,
                found_at=result.found_at or earlier.found_at,
            )
        self.ports[key] = result

    async def save_host(self, scan: Scan, result: HostResult) -> None:
        self.hosts[(scan.id, result.host)] = result

    async def ports_of(self, scan_id: str) -> list[PortResult]:
        return [self.ports[key] for key in sorted(k for k in self.ports if k[0] == scan_id)]

    async def hosts_of(self, scan_id: str) -> list[HostResult]:
        return [self.hosts[key] for key in sorted(k for k in self.hosts if k[0] == scan_id)]

    async def delete_results(self, scan_id: str, at: datetime) -> int:
        ports = [key for key in self.ports if key[0] == scan_id]
        for key in ports:
            del self.ports[key]
        for host_key in [key for key in self.hosts if key[0] == scan_id]:
            del self.hosts[host_key]
        self.scans[scan_id] = replace(self.scans[scan_id], results_deleted_at=at)
        return len(ports)

    async def claim_slot(self, org_id: str, limit: int, count: int = 1) -> bool:
        self._step("claim_slot")
        if limit > 0 and self.slots.get(org_id, 0) + count > limit:
            return False
        self.slots[org_id] = self.slots.get(org_id, 0) + count
        return True

    async def release_slot(self, org_id: str, count: int = 1) -> None:
        await self._gate("release_slot")
        if self.slots.get(org_id, 0) >= count:
            self.slots[org_id] -= count

    async def claim_daily(self, org_id: str, day: str, limit: int, count: int = 1) -> bool:
        if limit <= 0:
            return True
        key = f"{org_id}|{day}"
        if self.daily.get(key, 0) + count > limit:
            return False
        self.daily[key] = self.daily.get(key, 0) + count
        return True

    async def release_daily(self, org_id: str, day: str, count: int = 1) -> None:
        key = f"{org_id}|{day}"
        if self.daily.get(key, 0) >= count:
            self.daily[key] -= count

    async def remember_key(self, org_id: str, key: str, record: KeyRecord) -> KeyRecord | None:
        seen = self.keys.get(f"{org_id}|{key}")
        if seen is None:
            self.keys[f"{org_id}|{key}"] = record
        return seen

    async def key(self, org_id: str, key: str) -> KeyRecord | None:
        return self.keys.get(f"{org_id}|{key}")

    async def take_over_key(self, org_id: str, key: str, old_scan_id: str, scan_id: str, at: float) -> bool:
        seen = self.keys.get(f"{org_id}|{key}")
        if seen is None or seen.scan_id != old_scan_id:
            return False
        self.keys[f"{org_id}|{key}"] = replace(seen, scan_id=scan_id, claimed_at=at)
        return True

    async def forget_key(self, org_id: str, key: str, scan_id: str) -> None:
        seen = self.keys.get(f"{org_id}|{key}")
        if seen is not None and seen.scan_id == scan_id:
            del self.keys[f"{org_id}|{key}"]

    async def reopen(self, resumed: Scan, was: str, pending: PendingEvents) -> Scan | None:
        current = self.scans.get(resumed.id)
        if current is None or current.status != was:
            return None
        self.scans[resumed.id] = replace(resumed, counts=current.counts, shards_done=current.shards_done)
        self.pending[resumed.id] = pending
        return self.scans[resumed.id]

    async def start_sharded(self, scan_id: str, at: datetime, stale_at: float) -> Scan | None:
        current = self.scans.get(scan_id)
        if current is None or current.status != QUEUED:
            return None
        self.scans[scan_id] = replace(current, status=RUNNING, started_at=at, stale_at=stale_at)
        return self.scans[scan_id]

    async def touch(self, scan_id: str, stale_at: float) -> None:
        self.scans[scan_id] = replace(self.scans[scan_id], stale_at=stale_at)

    async def claim_shard(self, scan_id: str, index: int, lease: ShardLease, now: float) -> int | None:
        shard = self.shards.setdefault((scan_id, index), {"done": False, "lease_until": 0.0, "attempts": 0})
        if shard["done"] or float(shard["lease_until"]) >= now:  # type: ignore[arg-type]
            return None
        shard.update(claim=lease.claim, worker=lease.worker, lease_until=lease.until, probes_done=0)
        shard["attempts"] = int(shard["attempts"]) + 1  # type: ignore[call-overload]
        return int(shard["attempts"])  # type: ignore[call-overload]

    async def renew_shard(self, scan_id: str, index: int, lease: ShardLease) -> bool:
        shard = self.shards.get((scan_id, index))
        if shard is None or shard["done"] or shard.get("claim") != lease.claim:
            return False
        shard["lease_until"] = lease.until
        return True

    async def release_shard(self, scan_id: str, index: int, claim: str) -> None:
        shard = self.shards.get((scan_id, index))
        if shard is not None and not shard["done"] and shard.get("claim") == claim:
            shard["lease_until"] = 0.0

    async def finish_shard(self, scan_id: str, index: int, claim: str, counts: PortCounts) -> bool:
        shard = self.shards.get((scan_id, index))
        if shard is None or shard["done"] or shard.get("claim") != claim:
            return False
        shard.update(done=True, counts=counts, lease_until=0.0)
        return True

    async def shard_done(self, scan_id: str, index: int) -> bool:
        return bool(self.shards.get((scan_id, index), {}).get("done"))

    async def shards_done(self, scan_id: str) -> tuple[frozenset[int], PortCounts]:
        done = [(i, s) for (sid, i), s in self.shards.items() if sid == scan_id and s["done"]]
        counts = PortCounts()
        for _, shard in done:
            counts = counts.plus(shard["counts"].as_dict())  # type: ignore[attr-defined]
        return frozenset(i for i, _ in done), counts

    async def record_shards_done(self, scan_id: str, done: int, counts: PortCounts) -> bool:
        current = self.scans[scan_id]
        if current.shards_done >= done:
            return False
        self.scans[scan_id] = replace(current, shards_done=done, counts=counts)
        return True

    async def record_shard_probes(self, scan_id: str, index: int, claim: str, probes: int) -> bool:
        self.writes["record_shard_probes"] = self.writes.get("record_shard_probes", 0) + 1
        shard = self.shards.get((scan_id, index))
        if shard is None or shard["done"] or shard.get("claim") != claim:
            return False
        shard["probes_done"] = probes
        return True

    async def shard_progress(self, scan_id: str) -> tuple[frozenset[int], int]:
        mine = [(i, s) for (sid, i), s in self.shards.items() if sid == scan_id]
        done = frozenset(i for i, s in mine if s["done"])
        return done, sum(int(s.get("probes_done", 0)) for _, s in mine if not s["done"])  # type: ignore[call-overload]

    async def raise_progress(self, scan_id: str, progress: int) -> bool:
        self.writes["raise_progress"] = self.writes.get("raise_progress", 0) + 1
        current = self.scans[scan_id]
        if current.status != RUNNING or current.progress >= progress:
            return False
        self.scans[scan_id] = replace(current, progress=progress)
        return True

    async def usage(self, org_id: str, since_key: int) -> tuple[dict[str, int], int]:
        by_status: dict[str, int] = {}
        since = 0
        for scan in self.scans.values():
            if scan.owner.org_id == org_id:
                by_status[scan.status] = by_status.get(scan.status, 0) + 1
                since += scan.order_key >= since_key
        return by_status, since


@dataclass(frozen=True)
class Sent:
    """One event the use cases sent: its kind ("queued", "port_found", …), scan and status."""

    kind: str
    scan_id: str
    status: str
    error: ScanError | None = None
    detail: str = ""


class FakeEvents:
    """``ScanEventSink`` recording what would reach the outbox and the broker."""

    def __init__(self) -> None:
        self.sent: list[Sent] = []
        self.cancel_broadcasts: list[str] = []
        self.jobs: list[str] = []  # shard jobs released, as their event ids
        self.lifecycle_ids: set[str] = set()  # the outbox keeps one entry per event id
        self.percents: list[tuple[str, int, int, int]] = []  # progress: (event id, done, total, percent)

    def on_create(self, scan: Scan, request_id: str) -> PendingEvents:
        if scan.shards.sharded:
            return PendingEvents(({"_id": f"{scan.id}.queued"},), scan, request_id)
        return PendingEvents(({"_id": f"{scan.id}.queued"}, {"_id": f"{scan.id}.job"}))

    def on_resume(self, scan: Scan, request_id: str, done: frozenset[int]) -> PendingEvents:
        if scan.shards.sharded:
            return PendingEvents(({"_id": f"{scan.id}.queued"},), scan, request_id, done)
        return PendingEvents(({"_id": f"{scan.id}.queued"}, {"_id": f"{scan.id}.job"}))

    async def release(self, pending: PendingEvents) -> None:
        for entry in pending.entries:
            kind = str(entry["_id"]).rsplit(".", 1)[1]
            self.sent.append(Sent(kind, str(entry["_id"]).rsplit(".", 1)[0], QUEUED))
        if pending.scan is not None:
            for batch in shard_jobs(pending.scan, pending.request_id, pending.done):
                self.jobs += [str(entry["_id"]) for entry in batch]

    async def release_many(self, pendings: list[PendingEvents]) -> None:
        for pending in pendings:
            await self.release(pending)

    async def lifecycle(
        self, scan: Scan, request_id: str, error: ScanError | None = None, summary: bool = False
    ) -> None:
        event_id = f"{scan.id}.{scan.status}{run_suffix(scan)}"
        if event_id in self.lifecycle_ids:
            return
        self.lifecycle_ids.add(event_id)
        self.sent.append(Sent(scan.status, scan.id, scan.status, error, f"summary={summary}"))

    async def progress(
        self, scan: Scan, request_id: str, event_id: str, done: int, total: int, percent: int
    ) -> None:
        self.sent.append(Sent("progress", scan.id, scan.status, detail=event_id))
        self.percents.append((event_id, done, total, percent))

    async def port(self, scan: Scan, request_id: str, result: PortResult, service: bool) -> None:
        kind = "service_detected" if service else "port_found"
        self.sent.append(Sent(kind, scan.id, scan.status, detail=f"{result.host}:{result.port}"))

    async def ask_workers_to_cancel(self, scan_id: str) -> None:
        self.cancel_broadcasts.append(scan_id)

    def kinds(self, scan_id: str) -> list[str]:
        return [sent.kind for sent in self.sent if sent.scan_id == scan_id]


class FakeDns:
    """A resolver answering from a table; unknown names do not resolve."""

    def __init__(self, table: dict[str, list[str]] | None = None) -> None:
        self.table = table or {}
        self.asked: list[str] = []

    async def __call__(self, name: str) -> list[IPAddress]:
        self.asked.append(name)
        return [ipaddress.ip_address(address) for address in self.table.get(name, [])]


@dataclass
class FakeEngine:
    """``Engine`` yielding scripted events; ``hang`` keeps it running after them (until cancelled).

    ``per_block`` scripts a shard's events from its block instead; ``blocks`` records the shards run.
    """

    events: Sequence[Event] = ()
    excluded: list[str] | None = None
    hang: bool = False
    refuse: Exception | None = None
    started: list[str] = field(default_factory=list)
    per_block: Callable[[Block], Sequence[Event]] | None = None
    blocks: list[int] = field(default_factory=list)
    pacers: list[Pacer | None] = field(default_factory=list)
    # set: after its events it hangs and swallows every cancellation until this is set (a stuck library)
    stubborn: asyncio.Event | None = None

    async def start(self, scan: Scan, block: Block | None = None, pacer: Pacer | None = None) -> EngineRun:
        self.started.append(scan.id)
        self.pacers.append(pacer)
        if self.refuse is not None:
            raise self.refuse
        events = self.events
        if block is not None:
            self.blocks.append(block.index)
            if self.per_block is not None:
                events = self.per_block(block)
        return EngineRun(self._run(events), self.excluded)

    async def _run(self, events: Sequence[Event]) -> AsyncIterator[Event]:
        for event in events:
            yield event
        if self.hang:
            await asyncio.Event().wait()
        while self.stubborn is not None and not self.stubborn.is_set():
            with contextlib.suppress(asyncio.CancelledError):
                await self.stubborn.wait()


SETTINGS = ScanSettings(
    mongodb_url="mongodb://unused",
    nats_url="nats://unused",
    idempotency_grace_seconds=5.0,
    requeue_after_seconds=120.0,
)


@dataclass
class Platform:
    """Use cases wired to fakes, as ``bootstrap`` wires them to the real adapters."""

    store: FakeScanRepository
    events: FakeEvents
    clock: FakeClock
    dns: FakeDns
    commands: ScanCommands
    queries: ScanQueries

    def execution(self, engine: FakeEngine, worker: str = "w1", lease_seconds: float = 60.0) -> ScanExecution:
        leases = Leases(self.store, worker, lease_seconds, SETTINGS.requeue_after_seconds, self.clock)
        return ScanExecution(self.store, self.events, engine, leases, self.clock)

    def shards(self, engine: FakeEngine, worker: str = "w1", lease_seconds: float = 60.0) -> ShardExecution:
        return ShardExecution(
            self.store,
            self.events,
            engine,
            worker,
            lease_seconds,
            SETTINGS.requeue_after_seconds,
            clock=self.clock,
        )


def platform(
    scope_file: Path | None = None,
    dns: dict[str, list[str]] | None = None,
    settings: ScanSettings = SETTINGS,
) -> Platform:
    store, events, clock, resolver = FakeScanRepository(), FakeEvents(), FakeClock(), FakeDns(dns)
    authoriser = TargetAuthoriser(ScopeBook(scope_file, fallback=LOOPBACK), settings, resolver)
    commands = ScanCommands(store, events, authoriser, settings, clock)
    return Platform(store, events, clock, resolver, commands, ScanQueries(store))
