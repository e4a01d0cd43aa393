"""Where scan activity is stored: the only module that knows its document fields."""

from __future__ import annotations

from typing import Protocol

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from rampart.lib.ids import utcnow
from rampart.lib.store import Document
from rampart_threat.domain import ActivityEvent, Delivery, Observation, ScanActivity


class ActivityRepository(Protocol):
    """What the service layer needs from storage (tests use an in-memory fake)."""

    async def mark(self, event: ActivityEvent) -> Delivery: ...

    async def add(self, event: ActivityEvent) -> None: ...

    async def settle(self, event_id: str) -> None: ...

    async def observations(self, scan_id: str) -> list[Observation]: ...

    async def replace(self, activity: ScanActivity) -> None: ...

    async def settle_scan(self, scan_id: str) -> None: ...

    async def get(self, org_id: str, scan_id: str) -> ScanActivity | None: ...


class MongoActivityRepository:
    """Summaries in ``scan_activity``; one marker per event in ``scan_activity_events``.

    De-duplication is the marker insert (its ``_id`` is the event id), not a list inside the
    summary: every event costs the same few constant-size writes however long the scan.
    """

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._summaries = db["scan_activity"]
        self._markers = db["scan_activity_events"]

    async def create_indexes(self) -> None:
        await self._summaries.create_index("org_id")
        await self._markers.create_index([("scan_id", ASCENDING), ("applied", ASCENDING)])

    async def mark(self, event: ActivityEvent) -> Delivery:
        """Insert the event's marker, not yet applied; an existing marker says how it went before."""
        seen = event.observation
        try:
            await self._markers.insert_one(
                {
                    "_id": event.event_id,
                    "scan_id": event.scan_id,
                    "type": seen.kind,
                    "sequence": seen.sequence,
                    "status": seen.status,
                    "applied": False,
                }
            )
        except DuplicateKeyError:
            marker = await self._markers.find_one({"_id": event.event_id})
            if marker is not None and marker.get("applied") is False:
                return Delivery.INTERRUPTED
            return Delivery.REPEATED
        return Delivery.FIRST

    async def add(self, event: ActivityEvent) -> None:
        """``ScanActivity.apply`` done atomically in the store (no read, safe with replicas).

        The newest status is written before the event's type is counted, so a reader that sees
        a type (e.g. ``completed``) also sees the status it brought.
        """
        kind, sequence, status = event.observation.kind, event.observation.sequence, event.observation.status
        newer = {"_id": event.scan_id, "last_sequence": {"$lt": sequence}}
        latest = {"$set": {"last_sequence": sequence, "last_status": status}}
        before = await self._summaries.update_one(newer, latest)
        summary = await self._summaries.update_one(
            {"_id": event.scan_id},
            {
                "$inc": {"events_applied": 1, f"counts.{kind}": 1},
                "$min": {f"first_seen.{kind}": sequence},
                "$set": {"org_id": event.org_id, "user_id": event.user_id, "updated_at": utcnow()},
                "$setOnInsert": {"last_sequence": sequence, "last_status": status},
            },
            upsert=True,
        )
        if summary.upserted_id is not None:  # nx-27017 skips $min when an upsert inserts
            await self._summaries.update_one(
                {"_id": event.scan_id}, {"$min": {f"first_seen.{kind}": sequence}}
            )
        elif before.matched_count == 0:  # the summary appeared between the two writes
            await self._summaries.update_one(newer, latest)

    async def settle(self, event_id: str) -> None:
        await self._markers.update_one({"_id": event_id}, {"$set": {"applied": True}})

    async def observations(self, scan_id: str) -> list[Observation]:
        return [
            Observation(marker["type"], marker["sequence"], marker["status"])
            async for marker in self._markers.find({"scan_id": scan_id})
        ]

    async def replace(self, activity: ScanActivity) -> None:
        await self._summaries.update_one(
            {"_id": activity.scan_id},
            {
                "$set": {
                    "org_id": activity.org_id,
                    "user_id": activity.user_id,
                    "events_applied": activity.events_applied,
                    "counts": activity.counts,
                    "first_seen": activity.first_seen,
                    "last_sequence": activity.last_sequence,
                    "last_status": activity.last_status,
                    "updated_at": utcnow(),
                }
            },
            upsert=True,
        )

    async def settle_scan(self, scan_id: str) -> None:
        await self._markers.update_many({"scan_id": scan_id, "applied": False}, {"$set": {"applied": True}})

    async def get(self, org_id: str, scan_id: str) -> ScanActivity | None:
        doc = await self._summaries.find_one({"_id": scan_id, "org_id": org_id})
        if doc is None:
            return None
        return ScanActivity(
            scan_id=doc["_id"],
            org_id=doc["org_id"],
            user_id=doc.get("user_id", ""),
            events_applied=doc.get("events_applied", 0),
            counts=dict(doc.get("counts", {})),
            first_seen=dict(doc.get("first_seen", {})),
            last_sequence=doc.get("last_sequence", -1),
            last_status=str(doc.get("last_status", "")),
        )
