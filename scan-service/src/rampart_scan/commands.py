"""Changing scans: accept one (validated, in scope, within the plan, once per key), cancel, delete results."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from rampart.lib.errors import AlreadyExists, RampartError
from rampart.lib.ids import new_id
from rampart_scan.authorise import TargetAuthoriser
from rampart_scan.domain import (
    CANCELLED,
    CANCELLED_BY_CALLER,
    ConcurrentLimitExceeded,
    Owner,
    PlanLimits,
    Scan,
    ScanNotFinished,
    ScanNotResumable,
    ScanQuotaExceeded,
    ScanSpec,
    ShardPlan,
    estimate_seconds,
    plan_shards,
)
from rampart_scan.events import PendingEvents
from rampart_scan.idempotency import IdempotencyKeys, fingerprint
from rampart_scan.interfaces import Clock, ScanEventSink, ScanStore, SystemClock
from rampart_scan.queries import owned_scan, require_owner
from rampart_scan.settings import ScanSettings

CANCEL_WAIT_SECONDS = 2.0  # workers stop a running scan within a second
POLL_SECONDS = 0.05


@dataclass(frozen=True)
class Planned:
    """One scan of a batch: who asks for it, what, under which plan, and the id it must have."""

    owner: Owner
    spec: ScanSpec
    limits: PlanLimits
    scan_id: str
    request_id: str = ""


@dataclass(frozen=True)
class Created:
    """The scan a create answers with; ``replayed`` when an Idempotency-Key named an earlier one."""

    scan: Scan
    replayed: bool = False


class ScanCommands:
    """Write-side use cases; entry points call these with plain values and domain types."""

    def __init__(
        self,
        store: ScanStore,
        events: ScanEventSink,
        authoriser: TargetAuthoriser,
        settings: ScanSettings,
        clock: Clock | None = None,
    ) -> None:
        self._store = store
        self._events = events
        self._authoriser = authoriser
        self._settings = settings
        self._clock = clock or SystemClock()
        self._keys = IdempotencyKeys(store, self._clock, settings.idempotency_grace_seconds)
        self._admitting: set[asyncio.Future[Created]] = set()

    async def create(
        self,
        owner: Owner,
        spec: ScanSpec,
        limits: PlanLimits,
        idempotency_key: str = "",
        request_id: str = "",
    ) -> Created:
        scan = await self._build(owner, spec, limits, new_id("scan"))
        # The scan carries its own outbox entries: one insert stores the scan, its queued event
        # and its job together (the store has no multi-document transactions).
        pending = self._events.on_create(scan, request_id)
        digest = fingerprint(spec, limits, owner.sandbox)
        # From here on the writes must all happen or be repaired: a cancelled RPC (client gone,
        # gateway killed) does not stop them half-way.
        admission = asyncio.ensure_future(self._admit(scan, pending, limits, idempotency_key, digest))
        self._admitting.add(admission)
        admission.add_done_callback(self._admitting.discard)
        return await asyncio.shield(admission)

    async def _build(self, owner: Owner, spec: ScanSpec, limits: PlanLimits, scan_id: str) -> Scan:
        """The scan a request asks for, checked: targets, ports, scope and the plan's host cap."""
        require_owner(owner)
        resolved, ports = spec.resolved()
        targets = list(resolved.targets)
        cap = limits.host_cap(self._settings.max_hosts_per_scan)
        if owner.sandbox:  # syntax only: resolving a name would already send a packet
            hosts_count, excluded = self._authoriser.sandbox_host_count(targets, cap), []
            shards = ShardPlan()  # no packet: nothing to spread over workers
        else:
            hosts = await self._authoriser.authorised_hosts(owner.org_id, targets, cap)
            hosts_count, excluded = len(hosts), self._authoriser.excluded(hosts, ports)
            shards = plan_shards(
                hosts_count, len(ports), self._settings.shard_hosts, self._settings.shard_ports
            )
        now = self._clock.now()
        return Scan(
            id=scan_id,
            owner=owner,
            spec=resolved,
            created_at=now,
            updated_at=now,
            port_count=len(ports),
            estimated_duration_seconds=estimate_seconds(
                hosts_count, len(ports), resolved.options, owner.sandbox
            ),
            excluded_endpoints=tuple(excluded),
            stale_at=now.timestamp() + self._settings.requeue_after_seconds,
            shards=shards,
            org_rate=limits.org_rate,
        )

    async def create_batch(
        self, runs: Sequence[Planned], concurrency: int = 16
    ) -> list[Created | RampartError]:
        """Admit many scans at once (the scheduler's due runs): ``create``'s checks, in few writes.

        Every run is checked as ``create`` checks it (targets, scope, host cap, daily quota and
        concurrency slots of its plan); what is refused is answered with its error, in place.
        Each run names its scan id (derived from what it answers, e.g. a schedule's fire time),
        which is what makes a batch safe to run again: an id already stored is that scan,
        replayed, so a batch cut short by a crash neither loses nor duplicates a scan. The
        writes: one read of the ids, one counter write per organisation and plan (one per run
        only near a limit), one insert of every scan with its pending entries, one outbox write,
        one write marking them moved. A crash between them is repaired as for ``create``: the
        sweeper moves entries still inside their scans and gives back leaked counters.
        """
        results: list[Created | RampartError | None] = [None] * len(runs)
        slots = asyncio.Semaphore(concurrency)

        async def build(run: Planned) -> Scan | RampartError:
            async with slots:  # a live run resolves its targets: bounded side by side
                try:
                    return await self._build(run.owner, run.spec, run.limits, run.scan_id)
                except RampartError as refused:
                    return refused

        built = await asyncio.gather(*(build(run) for run in runs))
        existing = await self._store.by_ids([run.scan_id for run in runs])
        groups: dict[tuple[str, str, int, int], list[tuple[int, Scan]]] = {}
        for index, (run, made) in enumerate(zip(runs, built, strict=True)):
            stored = existing.get(run.scan_id)
            if stored is not None and stored.owner.org_id == run.owner.org_id:
                results[index] = Created(stored, replayed=True)
            elif isinstance(made, RampartError):
                results[index] = made
            elif stored is not None:  # the id is someone else's: never answer with their scan
                results[index] = AlreadyExists("scan id already taken", scan_id=run.scan_id)
            else:
                plan = (made.owner.org_id, made.day, run.limits.daily, run.limits.concurrent)
                groups.setdefault(plan, []).append((index, made))
        admitted: list[tuple[int, Scan]] = []
        for (org, day, daily, concurrent), group in groups.items():
            if await self._reserve_many(org, day, daily, concurrent, len(group)):
                admitted += group
                continue
            for index, scan in group:  # near a limit: one at a time, exactly as ``create``
                try:
                    await self._reserve(scan, runs[index].limits)
                except (ScanQuotaExceeded, ConcurrentLimitExceeded) as refused:
                    results[index] = refused
                else:
                    admitted.append((index, scan))
        pending = {scan.id: self._events.on_create(scan, runs[i].request_id) for i, scan in admitted}
        inserted = await self._store.add_many([(scan, pending[scan.id]) for _, scan in admitted])
        raced = [(index, scan) for index, scan in admitted if scan.id not in inserted]
        if raced:  # another scheduler stored these meanwhile: its scans, counted by it
            others = await self._store.by_ids([scan.id for _, scan in raced])
            for index, scan in raced:
                await self._store.release_slot(scan.owner.org_id)
                if runs[index].limits.daily > 0:  # an unlimited plan's run was not counted
                    await self._store.release_daily(scan.owner.org_id, scan.day)
                other = others.get(scan.id)
                results[index] = Created(other or scan, replayed=True)
        fresh = [scan for _, scan in admitted if scan.id in inserted]
        await self._events.release_many([pending[scan.id] for scan in fresh])
        await self._store.released_many([scan.id for scan in fresh])
        for index, scan in admitted:
            if scan.id in inserted:
                results[index] = Created(scan)
        answers = [result for result in results if result is not None]
        if len(answers) != len(runs):  # every run is answered above; never misalign the answers
            raise RuntimeError("a run of the batch was left unanswered")
        return answers

    async def _reserve_many(self, org: str, day: str, daily: int, concurrent: int, count: int) -> bool:
        """Count ``count`` scans against the quota and take as many slots in one write each, or none."""
        if not await self._store.claim_daily(org, day, daily, count):
            return False
        if not await self._store.claim_slot(org, concurrent, count):
            await self._store.release_daily(org, day, count)
            return False
        return True

    async def settled(self) -> None:
        """Wait for admissions whose callers went away (tests, and a clean shutdown)."""
        await asyncio.gather(*self._admitting, return_exceptions=True)

    async def _admit(
        self, scan: Scan, pending: PendingEvents, limits: PlanLimits, key: str, digest: str
    ) -> Created:
        org = scan.owner.org_id
        if key:
            replay = await self._keys.claim(org, key, digest, scan.id)
            if replay is not None:
                return Created(replay, replayed=True)
        try:
            await self._reserve(scan, limits)
        except (ScanQuotaExceeded, ConcurrentLimitExceeded):
            if key:
                await self._keys.release(org, key, scan.id)
            raise
        await self._store.add(scan, pending)
        if key:
            holder = await self._keys.holder(org, key)
            if holder is not None and holder != scan.id:
                # A retry took the key over while this create was stalled: it owns the key, so
                # this scan goes before anything about it is published.
                await self._store.discard_unreleased(scan.id)
                await self._store.release_slot(org)
                await self._store.release_daily(org, scan.day)
                winner = await self._keys.wait_for_scan(org, holder)
                if winner is not None:
                    return Created(winner, replayed=True)
                raise ConcurrentLimitExceeded("retry this request", limit=limits.concurrent)
        await self._events.release(pending)
        await self._store.released(scan.id)
        return Created(scan)

    async def _reserve(self, scan: Scan, limits: PlanLimits) -> None:
        """Count the scan against today's quota and take a concurrency slot, or neither."""
        org = scan.owner.org_id
        if not await self._store.claim_daily(org, scan.day, limits.daily):
            raise ScanQuotaExceeded(f"daily scan quota of {limits.daily} reached", limit=limits.daily)
        if not await self._store.claim_slot(org, limits.concurrent):
            await self._store.release_daily(org, scan.day)
            raise ConcurrentLimitExceeded(
                f"{limits.concurrent} scans already running or queued", limit=limits.concurrent
            )

    async def cancel(self, owner: Owner, scan_id: str, request_id: str) -> Scan:
        """A queued scan is cancelled at once; a running one is asked to stop (waited for briefly)."""
        scan = await owned_scan(self._store, owner, scan_id)
        if scan.is_final:
            return scan
        wanted = scan.cancel(self._clock.now())
        if wanted.status == CANCELLED:
            cancelled = await self._store.cancel_queued(wanted)
            if cancelled is not None:
                await self._store.release_slot(owner.org_id)
                await self._events.lifecycle(cancelled, request_id, error=CANCELLED_BY_CALLER)
                return cancelled
        await self._store.request_cancel(scan_id)
        await self._events.ask_workers_to_cancel(scan_id)
        deadline = self._clock.monotonic() + CANCEL_WAIT_SECONDS
        while self._clock.monotonic() < deadline:
            current = await owned_scan(self._store, owner, scan_id)
            if current.is_final:
                return current
            await self._clock.sleep(POLL_SECONDS)
        return await owned_scan(self._store, owner, scan_id)

    async def resume(self, owner: Owner, scan_id: str, limits: PlanLimits, request_id: str) -> Scan:
        """Queue a cancelled, timed-out or failed scan again for the shards not done; results stay."""
        scan = await owned_scan(self._store, owner, scan_id)
        resumed = scan.resume(self._clock.now(), self._clock.time(), self._settings.requeue_after_seconds)
        if not await self._store.claim_slot(owner.org_id, limits.concurrent):
            raise ConcurrentLimitExceeded(
                f"{limits.concurrent} scans already running or queued", limit=limits.concurrent
            )
        done = (await self._store.shards_done(scan.id))[0] if scan.shards.sharded else frozenset[int]()
        pending = self._events.on_resume(resumed, request_id, done)
        # One write queues the scan with its pending entries inside it, as a create does.
        stored = await self._store.reopen(resumed, scan.status, pending)
        if stored is None:
            await self._store.release_slot(owner.org_id)
            raise ScanNotResumable("the scan changed meanwhile; look at it again", scan_id=scan_id)
        await self._events.release(pending)
        await self._store.released(scan.id)
        return stored

    async def delete_results(self, owner: Owner, scan_id: str) -> int:
        scan = await owned_scan(self._store, owner, scan_id)
        if not scan.is_final:
            raise ScanNotFinished("results can be deleted once the scan has finished", scan_id=scan_id)
        return await self._store.delete_results(scan_id, self._clock.now())
