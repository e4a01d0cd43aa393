"""Mongo adapter for scans."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

from rampart.lib.ids import utcnow
from rampart.lib.store import Document


class ScanRepository:
    """Scans, scoped by organisation on every read and write."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._scans = db["scans"]

    async def create_indexes(self) -> None:
        await self._scans.create_index([("org_id", ASCENDING), ("created_at", DESCENDING)])
        await self._scans.create_index([("org_id", ASCENDING), ("status", ASCENDING)])

    async def usage(self, org_id: str, since: datetime) -> dict[str, Any]:
        """Counts for quotas and stats; ``created_at`` is set at insert, so it range-queries."""
        by_status: dict[str, int] = {}
        async for row in await self._scans.aggregate(
            [{"$match": {"org_id": org_id}}, {"$group": {"_id": "$status", "n": {"$sum": 1}}}]
        ):
            by_status[str(row["_id"])] = int(row["n"])
        since_count = await self._scans.count_documents({"org_id": org_id, "created_at": {"$gte": since}})
        return {"by_status": by_status, "scans_since": since_count}

    async def insert(self, doc: Document) -> None:
        await self._scans.insert_one(doc)

    async def get(self, org_id: str, scan_id: str) -> Document | None:
        return await self._scans.find_one({"_id": scan_id, "org_id": org_id})

    async def transition(
        self, org_id: str, scan_id: str, from_states: tuple[str, ...], to_state: str
    ) -> Document | None:
        """Move a scan between states atomically and take the next event sequence number."""
        changes: dict[str, Any] = {"status": to_state, "updated_at": utcnow()}
        if to_state not in ("queued", "running"):
            changes["completed_at"] = utcnow()
        return await self._scans.find_one_and_update(
            {"_id": scan_id, "org_id": org_id, "status": {"$in": list(from_states)}},
            {"$set": changes, "$inc": {"event_seq": 1}},
            return_document=ReturnDocument.AFTER,
        )
