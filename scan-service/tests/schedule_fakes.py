"""An in-memory ``ScheduleStore`` with the repository's compare-and-set and lease rules."""

from __future__ import annotations

from datetime import datetime

from rampart_scan.domain.schedule import Schedule


class FakeScheduleStore:
    def __init__(self) -> None:
        self.schedules: dict[str, Schedule] = {}
        self.lease: tuple[str, float] | None = None  # holder, until
        self.fail_advance = False  # the store going away before a batch's outcomes are stored

    async def add(self, schedule: Schedule) -> None:
        self.schedules[schedule.id] = schedule

    async def get(self, org_id: str, schedule_id: str, sandbox: bool) -> Schedule | None:
        found = self.schedules.get(schedule_id)
        if found is None or found.owner.org_id != org_id or found.owner.sandbox != sandbox:
            return None
        return found

    async def page(self, org_id: str, sandbox: bool, skip: int, limit: int) -> tuple[list[Schedule], int]:
        mine = [s for s in self.schedules.values() if s.owner.org_id == org_id and s.owner.sandbox == sandbox]
        mine.sort(key=lambda s: (s.created_at, s.id))
        return mine[skip : skip + limit], len(mine)

    async def count(self, org_id: str) -> int:
        return sum(1 for s in self.schedules.values() if s.owner.org_id == org_id)

    async def save(self, schedule: Schedule) -> None:
        self.schedules[schedule.id] = schedule

    async def delete(self, org_id: str, schedule_id: str, sandbox: bool) -> bool:
        if await self.get(org_id, schedule_id, sandbox) is None:
            return False
        del self.schedules[schedule_id]
        return True

    async def due(self, now: datetime, limit: int) -> list[Schedule]:
        due = [s for s in self.schedules.values() if s.next_run_at is not None and s.next_run_at <= now]
        return sorted(due, key=lambda s: (s.next_run_at or now, s.id))[:limit]

    async def advance(self, was: Schedule, now: Schedule) -> bool:
        current = self.schedules.get(was.id)
        if current is None or current.next_run_at != was.next_run_at:
            return False
        self.schedules[was.id] = now
        return True

    async def advance_many(self, changes: list[tuple[Schedule, Schedule]]) -> int:
        if self.fail_advance:
            raise ConnectionError("store unavailable during advance_many")
        return sum([await self.advance(was, now) for was, now in changes])

    async def take_lease(self, name: str, holder: str, now: float, until: float) -> bool:
        if self.lease is not None and self.lease[0] != holder and self.lease[1] >= now:
            return False
        self.lease = (holder, until)
        return True
