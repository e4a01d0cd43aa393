"""Schedules in the store (collection ``scan_schedules``) and the scheduler's lease (``scheduler_leases``).

Instants are stored as epoch seconds (floats): ``next_run_at`` is compared with ``$lte``.
Every read and write of a caller's schedule is scoped by organisation and world.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING, ReturnDocument, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from rampart.lib.store import Document
from rampart_scan.domain import Owner, PlanLimits, ScanOptions, ScanSpec
from rampart_scan.domain.schedule import Schedule, Timing

FAR = 1e18  # next_run_at of a disabled schedule: never due


def _at(value: datetime | None) -> float | None:
    return value.timestamp() if value is not None else None


def _from(value: float | None) -> datetime | None:
    return datetime.fromtimestamp(value, UTC) if value is not None and value < FAR else None


def schedule_to_doc(s: Schedule) -> Document:
    return {
        "_id": s.id,
        "org_id": s.owner.org_id,
        "user_id": s.owner.user_id,
        "sandbox": s.owner.sandbox,
        "name": s.name,
        "targets": list(s.spec.targets),
        "scan_type": s.spec.scan_type,
        "ports": s.spec.ports,
        "profile": s.spec.profile,
        "options": {
            "os_detection": s.spec.options.os_detection,
            "service_detection": s.spec.options.service_detection,
            "ssl_check": s.spec.options.ssl_check,
            "fast_mode": s.spec.options.fast_mode,
        },
        "cron": s.timing.cron,
        "interval_seconds": s.timing.interval_seconds,
        "time_zone": s.timing.time_zone,
        "anchor": s.timing.anchor.timestamp(),
        "limits": {
            "concurrent": s.limits.concurrent,
            "daily": s.limits.daily,
            "max_hosts": s.limits.max_hosts,
            "org_rate": s.limits.org_rate,
        },
        "enabled": s.enabled,
        "next_run_at": _at(s.next_run_at) if s.next_run_at is not None else FAR,
        "last_run_at": _at(s.last_run_at),
        "last_scan_id": s.last_scan_id,
        "runs": s.runs,
        "skipped_runs": s.skipped_runs,
        "missed_runs": s.missed_runs,
        "last_error": s.last_error,
        "created_at": s.created_at.timestamp(),
        "updated_at": s.updated_at.timestamp(),
    }


def schedule_from_doc(doc: Document) -> Schedule:
    limits = doc.get("limits") or {}
    created, updated = _from(doc["created_at"]), _from(doc["updated_at"])
    assert created is not None
    assert updated is not None
    return Schedule(
        id=doc["_id"],
        owner=Owner(doc["user_id"], doc["org_id"], bool(doc.get("sandbox", False))),
        spec=ScanSpec(
            targets=tuple(doc["targets"]),
            scan_type=doc["scan_type"],
            ports=doc["ports"],
            options=ScanOptions(**doc.get("options", {})),
            profile=doc["profile"],
        ),
        timing=Timing(
            doc["cron"],
            int(doc["interval_seconds"]),
            doc["time_zone"],
            datetime.fromtimestamp(doc["anchor"], UTC),
        ),
        limits=PlanLimits(
            int(limits.get("concurrent", 0)),
            int(limits.get("daily", 0)),
            int(limits.get("max_hosts", 0)),
            float(limits.get("org_rate", 0.0)),
        ),
        created_at=created,
        updated_at=updated,
        name=doc.get("name", ""),
        enabled=bool(doc["enabled"]),
        next_run_at=_from(doc["next_run_at"]),
        last_run_at=_from(doc.get("last_run_at")),
        last_scan_id=doc.get("last_scan_id", ""),
        runs=int(doc.get("runs", 0)),
        skipped_runs=int(doc.get("skipped_runs", 0)),
        missed_runs=int(doc.get("missed_runs", 0)),
        last_error=doc.get("last_error", ""),
    )


RUN_FIELDS = (
    "next_run_at",
    "last_run_at",
    "last_scan_id",
    "runs",
    "skipped_runs",
    "missed_runs",
    "last_error",
)


def _advance(was: Schedule, now: Schedule) -> tuple[Document, Document]:
    """The filter and update storing a run's outcome, guarded by the next run it answered."""
    doc = schedule_to_doc(now)
    expected = _at(was.next_run_at) if was.next_run_at is not None else FAR
    return {"_id": was.id, "next_run_at": expected}, {"$set": {key: doc[key] for key in RUN_FIELDS}}


class ScheduleRepository:
    """``ScheduleStore`` on the document store."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.schedules = db["scan_schedules"]
        self.leases = db["scheduler_leases"]

    async def create_indexes(self) -> None:
        await self.schedules.create_index(
            [("org_id", ASCENDING), ("sandbox", ASCENDING), ("created_at", ASCENDING)]
        )
        await self.schedules.create_index([("next_run_at", ASCENDING)])

    async def add(self, schedule: Schedule) -> None:
        await self.schedules.insert_one(schedule_to_doc(schedule))

    async def get(self, org_id: str, schedule_id: str, sandbox: bool) -> Schedule | None:
        doc = await self.schedules.find_one({"_id": schedule_id, "org_id": org_id, "sandbox": sandbox})
        return schedule_from_doc(doc) if doc else None

    async def page(self, org_id: str, sandbox: bool, skip: int, limit: int) -> tuple[list[Schedule], int]:
        query: dict[str, Any] = {"org_id": org_id, "sandbox": sandbox}
        total = await self.schedules.count_documents(query)
        cursor = self.schedules.find(query).sort([("created_at", ASCENDING), ("_id", ASCENDING)])
        return [schedule_from_doc(doc) async for doc in cursor.skip(skip).limit(limit)], total

    async def count(self, org_id: str) -> int:
        return await self.schedules.count_documents({"org_id": org_id})

    async def save(self, schedule: Schedule) -> None:
        doc = schedule_to_doc(schedule)
        await self.schedules.replace_one(
            {"_id": schedule.id, "org_id": schedule.owner.org_id, "sandbox": schedule.owner.sandbox}, doc
        )

    async def delete(self, org_id: str, schedule_id: str, sandbox: bool) -> bool:
        result = await self.schedules.delete_one({"_id": schedule_id, "org_id": org_id, "sandbox": sandbox})
        return result.deleted_count == 1

    async def due(self, now: datetime, limit: int) -> list[Schedule]:
        cursor = self.schedules.find({"next_run_at": {"$lte": now.timestamp()}}).sort(
            "next_run_at", ASCENDING
        )
        return [schedule_from_doc(doc) async for doc in cursor.limit(limit)]

    async def advance(self, was: Schedule, now: Schedule) -> bool:
        """Store a run's outcome if nobody moved the schedule's next run meanwhile (compare-and-set)."""
        return await self.advance_many([(was, now)]) == 1

    async def advance_many(self, changes: list[tuple[Schedule, Schedule]]) -> int:
        """``advance`` for many schedules in one write; how many were stored (the others had moved)."""
        if not changes:
            return 0
        writes = [UpdateOne(*_advance(was, now)) for was, now in changes]
        result = await self.schedules.bulk_write(writes, ordered=False)
        return int(result.modified_count)

    async def take_lease(self, name: str, holder: str, now: float, until: float) -> bool:
        """Hold (or renew) the named lease until ``until``; False while another holder's is current."""
        try:
            taken = await self.leases.find_one_and_update(
                {"_id": name, "$or": [{"holder": holder}, {"until": {"$lt": now}}]},
                {"$set": {"holder": holder, "until": until}},
                upsert=True,
                return_document=ReturnDocument.AFTER,
            )
        except DuplicateKeyError:  # the lease exists and is another's, still current
            return False
        return taken is not None and taken.get("holder") == holder
