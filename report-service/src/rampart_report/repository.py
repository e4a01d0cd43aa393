"""Where timelines are stored: the only module that knows their document fields."""

from __future__ import annotations

from typing import Protocol

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from rampart.lib.ids import utcnow
from rampart.lib.store import Document, read_time
from rampart_report.domain import TimelineEntry


class TimelineRepository(Protocol):
    """What the service layer needs from storage (tests use an in-memory fake)."""

    async def add(self, entry: TimelineEntry) -> bool: ...

    async def entries(self, org_id: str, scan_id: str) -> list[TimelineEntry]: ...


class MongoTimelineRepository:
    """One ``scan_timeline`` document per event: its ``_id`` is the event id, so the insert is the check."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._entries = db["scan_timeline"]

    async def create_indexes(self) -> None:
        await self._entries.create_index(
            [("org_id", ASCENDING), ("scan_id", ASCENDING), ("sequence", ASCENDING)]
        )

    async def add(self, entry: TimelineEntry) -> bool:
        """Store the entry; False when its event id was stored before."""
        try:
            await self._entries.insert_one(
                {
                    "_id": entry.event_id,
                    "scan_id": entry.scan_id,
                    "org_id": entry.org_id,
                    "user_id": entry.user_id,
                    "type": entry.kind,
                    "sequence": entry.sequence,
                    "occurred_at": entry.occurred_at,
                    "recorded_at": utcnow(),
                }
            )
        except DuplicateKeyError:
            return False
        return True

    async def entries(self, org_id: str, scan_id: str) -> list[TimelineEntry]:
        cursor = self._entries.find({"org_id": org_id, "scan_id": scan_id}).sort("sequence", ASCENDING)
        return [
            TimelineEntry(
                event_id=doc["_id"],
                scan_id=doc["scan_id"],
                org_id=doc["org_id"],
                user_id=doc.get("user_id", ""),
                kind=doc["type"],
                sequence=doc["sequence"],
                occurred_at=read_time(doc.get("occurred_at")),
            )
            async for doc in cursor
        ]
