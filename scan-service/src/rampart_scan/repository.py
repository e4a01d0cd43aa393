"""Mongo adapter for scans."""

from __future__ import annotations

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
