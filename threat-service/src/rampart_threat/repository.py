"""Where scan activity is stored: the only module that knows its document fields."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from rampart.lib.ids import utcnow
from rampart.lib.store import Document
from rampart_threat.domain import ActivityEvent, Delivery, Observation, ScanActivity

DUPLICATE_KEY = 11000


class ActivityRepository(Protocol):
    """What the service layer needs from storage (tests use an in-memory fake)."""

    async def mark(self, event: ActivityEvent) -> Delivery: ...

    async def add(self, event: ActivityEvent) -> None: ...

    async def settle(self, event_id: str) -> None: ...

    # The same for many events at once (a fetch of the consumer): a few store round trips in all.
    async def mark_many(self, events: Sequence[ActivityEvent]) -> list[Delivery]: ...

    async def add_many(self, events: Sequence[ActivityEvent]) -> None: ...

    async def settle_many(self, event_ids: Sequence[str]) -> None: ...

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

    async def mark_many(self, events: Sequence[ActivityEvent]) -> list[Delivery]:
        """``mark`` for many in one unordered insert; the markers that existed are read in one query."""
        if not events:
            return []
        documents = [
            {
                "_id": event.event_id,
                "scan_id": event.scan_id,
                "type": event.observation.kind,
                "sequence": event.observation.sequence,
                "status": event.observation.status,
                "applied": False,
            }
            for event in events
        ]
        existed: set[int] = set()
        try:
            await self._markers.insert_many(documents, ordered=False)
        except BulkWriteError as error:
            errors = error.details.get("writeErrors", [])
            if any(e.get("code") != DUPLICATE_KEY for e in errors):
                raise
            existed = {int(e["index"]) for e in errors}
        deliveries = [Delivery.FIRST] * len(events)
        if existed:
            wanted = sorted({events[i].event_id for i in existed})
            unapplied = {
                doc["_id"]
                async for doc in self._markers.find({"_id": {"$in": wanted}}, {"applied": 1})
                if doc.get("applied") is False
            }
            for i in existed:
                deliveries[i] = Delivery.INTERRUPTED if events[i].event_id in unapplied else Delivery.REPEATED
        return deliveries

    async def add_many(self, events: Sequence[ActivityEvent]) -> None:
        """``add`` for many: per scan, the same two writes with the batch's counts summed."""
        by_scan: dict[str, list[ActivityEvent]] = {}
        for event in events:
            by_scan.setdefault(event.scan_id, []).append(event)
        for scan_id, group in by_scan.items():
            last = group[-1]
            latest_event = max(group, key=lambda e: e.observation.sequence)
            sequence, status = latest_event.observation.sequence, latest_event.observation.status
            increments: dict[str, int] = {"events_applied": len(group)}
            firsts: dict[str, int] = {}
            for event in group:
                kind = event.observation.kind
                increments[f"counts.{kind}"] = increments.get(f"counts.{kind}", 0) + 1
                first = firsts.get(f"first_seen.{kind}")
                firsts[f"first_seen.{kind}"] = (
                    event.observation.sequence if first is None else min(first, event.observation.sequence)
                )
            newer = {"_id": scan_id, "last_sequence": {"$lt": sequence}}
            latest = {"$set": {"last_sequence": sequence, "last_status": status}}
            before = await self._summaries.update_one(newer, latest)
            if before.matched_count == 0:  # no summary yet, or a newer one: make sure it exists first
                # nx-27017 stores an inserting upsert's dotted $inc / $min keys literally ("counts.x"
                # at the top), so the counts are never written by an upsert that inserts.
                created = {"last_sequence": sequence, "last_status": status, "events_applied": 0}
                await self._summaries.update_one(
                    {"_id": scan_id},
                    {"$setOnInsert": {**created, "counts": {}, "first_seen": {}}},
                    upsert=True,
                )
            await self._summaries.update_one(
                {"_id": scan_id},
                {
                    "$inc": increments,
                    "$min": firsts,
                    "$set": {"org_id": last.org_id, "user_id": last.user_id, "updated_at": utcnow()},
                },
            )
            if before.matched_count == 0:  # the summary may have appeared between the writes
                await self._summaries.update_one(newer, latest)

    async def settle_many(self, event_ids: Sequence[str]) -> None:
        if event_ids:
            await self._markers.update_many(
                {"_id": {"$in": sorted(set(event_ids))}}, {"$set": {"applied": True}}
            )

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
