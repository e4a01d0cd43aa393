"""Schedules: their use cases, and the scheduler that starts their scans.

The scheduler runs inside scan-service (which owns starting scans) and starts due runs in
batches through ``ScanCommands.create_batch``, which checks each run with the code behind
``POST /scans``: scope, quotas, plan limits and the sandbox apply as for any scan. With several
replicas, one scheduler is active at a time: it holds a lease in the store (``take_lease``),
renewed before every batch; another replica
takes over once the lease has lapsed. A run's scan id is derived from the schedule and the fire
time, and the outcome is stored with a compare-and-set on the schedule's ``next_run_at``, so a
run is never started twice even if two schedulers overlapped or one crashed half-way.
"""

from __future__ import annotations

import asyncio
import hashlib
import string
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Protocol, TypeVar, cast

import structlog

from rampart.lib.errors import InvalidArgument, RampartError
from rampart.lib.ids import new_id
from rampart_scan.commands import Planned, ScanCommands
from rampart_scan.domain import ACTIVE_STATES, Owner, PlanLimits, ScanOptions, ScanSpec
from rampart_scan.domain.schedule import Schedule, ScheduleNotFound, Timing
from rampart_scan.interfaces import Clock, ScanStore
from rampart_scan.queries import require_owner

log = structlog.get_logger(__name__)
MAX_PER_PAGE = 100
DEFAULT_PER_PAGE = 20
MAX_SCHEDULES_PER_ORG = 1_000
LEASE_NAME = "scheduler"
ALPHABET = string.ascii_lowercase + string.digits
SCAN_ID_CHARS = 20  # as ``new_id("scan")``
T = TypeVar("T")


class ScheduleStore(Protocol):
    async def add(self, schedule: Schedule) -> None: ...
    async def get(self, org_id: str, schedule_id: str, sandbox: bool) -> Schedule | None: ...
    async def page(self, org_id: str, sandbox: bool, skip: int, limit: int) -> tuple[list[Schedule], int]: ...
    async def count(self, org_id: str) -> int: ...
    async def save(self, schedule: Schedule) -> None: ...
    async def delete(self, org_id: str, schedule_id: str, sandbox: bool) -> bool: ...
    async def due(self, now: datetime, limit: int) -> list[Schedule]: ...
    async def advance(self, was: Schedule, now: Schedule) -> bool: ...
    async def advance_many(self, changes: list[tuple[Schedule, Schedule]]) -> int: ...
    async def take_lease(self, name: str, holder: str, now: float, until: float) -> bool: ...


@dataclass(frozen=True)
class ScheduleInput:
    """What a caller asks for; ``fields`` names the ones a partial update sets (all on create)."""

    targets: tuple[str, ...] = ()
    scan_type: str = ""
    ports: str = ""
    profile: str = ""
    options: ScanOptions = field(default_factory=ScanOptions)
    cron: str = ""
    interval_seconds: int = 0
    time_zone: str = ""
    enabled: bool = True
    name: str = ""


UPDATABLE = frozenset(
    (
        "targets",
        "scan_type",
        "ports",
        "profile",
        "options",
        "cron",
        "interval_seconds",
        "time_zone",
        "enabled",
        "name",
    )
)
TIMING_FIELDS = frozenset(("cron", "interval_seconds", "time_zone", "enabled"))


def checked_spec(given: ScheduleInput) -> ScanSpec:
    spec = ScanSpec(
        targets=given.targets,
        scan_type=given.scan_type,
        ports=given.ports,
        options=given.options,
        profile=given.profile,
    )
    spec.resolved()  # targets and ports are checked now; scope is checked on each run
    return spec


class ScheduleCommands:
    """Create, read, change and delete a caller's schedules; every one scoped to org and world."""

    def __init__(self, store: ScheduleStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    async def create(self, owner: Owner, given: ScheduleInput, limits: PlanLimits) -> Schedule:
        require_owner(owner)
        if len(given.name) > 200:
            raise InvalidArgument("name is at most 200 characters", field="name")
        now = self._clock.now()
        timing = Timing(given.cron, given.interval_seconds, given.time_zone or "UTC", anchor=now).check()
        if await self._store.count(owner.org_id) >= MAX_SCHEDULES_PER_ORG:
            raise InvalidArgument(f"at most {MAX_SCHEDULES_PER_ORG} schedules per organisation", field="body")
        schedule = Schedule(
            id=new_id("sched"),
            owner=owner,
            spec=checked_spec(given),
            timing=timing,
            limits=limits,
            created_at=now,
            updated_at=now,
            name=given.name,
            enabled=given.enabled,
        ).planned(now)
        await self._store.add(schedule)
        return schedule

    async def get(self, owner: Owner, schedule_id: str) -> Schedule:
        require_owner(owner)
        schedule = await self._store.get(owner.org_id, schedule_id, owner.sandbox)
        if schedule is None:
            raise ScheduleNotFound("schedule not found", schedule_id=schedule_id)
        return schedule

    async def list(self, owner: Owner, page: int, per_page: int) -> tuple[list[Schedule], int, int, int]:
        require_owner(owner)
        per_page = min(max(per_page or DEFAULT_PER_PAGE, 1), MAX_PER_PAGE)
        page = max(page or 1, 1)
        items, total = await self._store.page(owner.org_id, owner.sandbox, (page - 1) * per_page, per_page)
        return items, total, page, per_page

    async def update(
        self, owner: Owner, schedule_id: str, given: ScheduleInput, fields: frozenset[str], limits: PlanLimits
    ) -> Schedule:
        unknown = fields - UPDATABLE
        if unknown:
            raise InvalidArgument(f"cannot update {', '.join(sorted(unknown))}", field=sorted(unknown)[0])
        schedule = await self.get(owner, schedule_id)
        now = self._clock.now()

        def pick(name: str, current: T) -> T:
            return cast(T, getattr(given, name)) if name in fields else current

        merged = ScheduleInput(
            targets=pick("targets", schedule.spec.targets),
            scan_type=pick("scan_type", schedule.spec.scan_type),
            ports=pick("ports", schedule.spec.ports),
            profile=pick("profile", schedule.spec.profile),
            options=pick("options", schedule.spec.options),
            cron=pick("cron", schedule.timing.cron),
            interval_seconds=pick("interval_seconds", schedule.timing.interval_seconds),
            time_zone=pick("time_zone", schedule.timing.time_zone),
            enabled=pick("enabled", schedule.enabled),
            name=pick("name", schedule.name),
        )
        if "cron" in fields and merged.cron and "interval_seconds" not in fields:
            merged = replace(merged, interval_seconds=0)  # switching to cron drops the interval
        if "interval_seconds" in fields and merged.interval_seconds and "cron" not in fields:
            merged = replace(merged, cron="")
        timing = Timing(
            merged.cron, merged.interval_seconds, merged.time_zone or "UTC", schedule.timing.anchor
        )
        updated = replace(
            schedule,
            spec=checked_spec(merged),
            timing=timing.check(),
            limits=limits,
            name=merged.name,
            enabled=merged.enabled,
            updated_at=now,
        )
        if fields & TIMING_FIELDS:
            updated = updated.planned(now)
        await self._store.save(updated)
        return updated

    async def delete(self, owner: Owner, schedule_id: str) -> None:
        require_owner(owner)
        if not await self._store.delete(owner.org_id, schedule_id, owner.sandbox):
            raise ScheduleNotFound("schedule not found", schedule_id=schedule_id)


def run_key(schedule: Schedule) -> str:
    """What names one run: the schedule and the fire time it answers."""
    fire = schedule.next_run_at or datetime(1970, 1, 1, tzinfo=UTC)
    return f"schedule:{schedule.id}:{int(fire.timestamp())}"


def run_scan_id(schedule: Schedule) -> str:
    """The id of the scan a run starts, derived from the run: the same run never gets two scans."""
    value = int.from_bytes(hashlib.sha256(run_key(schedule).encode()).digest()[:16])
    chars = []
    for _ in range(SCAN_ID_CHARS):
        value, digit = divmod(value, 36)
        chars.append(ALPHABET[digit])
    return f"scan_{''.join(chars)}"


class Scheduler:
    """Starts due runs while it holds the scheduler lease; ``tick`` is one pass (tests call it).

    Due schedules are taken ``batch`` at a time and their runs started together: one read of
    the scans they name (a run already started, or a previous scan still going), one batched
    admission (``ScanCommands.create_batch``: the checks of ``POST /scans``, in few writes),
    one write of every schedule's outcome (each a compare-and-set on its ``next_run_at``).
    Each run's scan id is derived from the schedule and the fire time, so a batch cut short
    (crash, lost lease) and taken up again starts every run exactly once.
    """

    def __init__(
        self,
        schedules: ScheduleStore,
        scans: ScanStore,
        commands: ScanCommands,
        clock: Clock,
        holder: str,
        lease_seconds: float = 30.0,
        tick_seconds: float = 5.0,
        batch: int = 200,
        concurrency: int = 16,
    ) -> None:
        self._schedules = schedules
        self._scans = scans
        self._commands = commands
        self._clock = clock
        self._holder = holder
        self._lease_seconds = lease_seconds
        self._tick_seconds = tick_seconds
        self._batch = batch
        self._concurrency = concurrency

    async def _hold_lease(self) -> bool:
        now = self._clock.time()
        return await self._schedules.take_lease(LEASE_NAME, self._holder, now, now + self._lease_seconds)

    async def tick(self) -> int:
        """Start every due run (when this replica holds the lease); returns how many runs it handled."""
        now = self._clock.now()
        handled = 0
        while await self._hold_lease():  # renewed before each batch: a long pass keeps it
            due = await self._schedules.due(now, self._batch)
            stored = await self.run_batch(due, now) if due else 0
            handled += len(due)
            if len(due) < self._batch or not stored:  # none stored: they moved under us; next tick
                break
        return handled

    async def run_batch(self, due: list[Schedule], now: datetime) -> int:
        """Due runs: each skipped while its previous scan is going, else its scan started; how
        many outcomes were stored."""
        ids = {schedule.id: run_scan_id(schedule) for schedule in due}
        named = list(ids.values()) + [s.last_scan_id for s in due if s.last_scan_id]
        known = await self._scans.by_ids(named)
        outcomes: list[tuple[Schedule, Schedule]] = []
        starting: list[Schedule] = []
        for schedule in due:
            started = known.get(ids[schedule.id])
            previous = known.get(schedule.last_scan_id) if schedule.last_scan_id else None
            if started is not None and started.owner.org_id == schedule.owner.org_id:
                outcomes.append((schedule, schedule.ran(now, started.id)))  # before a crash
            elif (
                previous is not None
                and previous.owner.org_id == schedule.owner.org_id
                and previous.status in ACTIVE_STATES
            ):
                outcomes.append((schedule, schedule.skipped(now)))
                log.info("scheduled run skipped", schedule_id=schedule.id, running=previous.id)
            else:
                starting.append(schedule)
        runs = [Planned(s.owner, s.spec, s.limits, ids[s.id], new_id("req", 16)) for s in starting]
        results = await self._commands.create_batch(runs, self._concurrency) if runs else []
        for schedule, result in zip(starting, results, strict=True):
            if isinstance(result, RampartError):  # quota, scope, plan: recorded on the schedule
                outcomes.append((schedule, schedule.failed(now, f"{result.public_code}: {result}")))
                log.info("scheduled run refused", schedule_id=schedule.id, code=result.public_code)
            else:
                outcomes.append((schedule, schedule.ran(now, result.scan.id)))
        stored = await self._schedules.advance_many(outcomes)
        log.info("scheduled runs", due=len(due), started=len(runs), stored=stored)
        return stored

    async def run_forever(self) -> None:
        while True:
            try:
                await self.tick()
            except Exception:  # the store away for a moment: try again at the next tick
                log.exception("scheduler tick failed")
            await asyncio.sleep(self._tick_seconds)
