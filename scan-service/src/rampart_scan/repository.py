"""Mongo adapter for scans, their port and host results, counters and idempotency keys."""

from __future__ import annotations

import time
from typing import Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from rampart.lib.ids import utcnow
from rampart.lib.store import Document


def world(sandbox: bool) -> dict[str, Any]:
    """Test keys see only sandbox scans, live callers only live ones (docs/security/keys.md)."""
    return {"sandbox": True} if sandbox else {"sandbox": {"$ne": True}}


class ScanRepository:
    """Scans, scoped by organisation on every read and write."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.scans = db["scans"]
        self.ports = db["scan_ports"]
        self.hosts = db["scan_hosts"]
        self.slots = db["active_scans"]
        self.daily = db["daily_scans"]
        self.idempotency = db["idempotency_keys"]

    async def create_indexes(self) -> None:
        await self.scans.create_index([("org_id", ASCENDING), ("sort_key", DESCENDING)])
        await self.scans.create_index([("org_id", ASCENDING), ("status", ASCENDING)])
        await self.ports.create_index([("scan_id", ASCENDING), ("host", ASCENDING), ("port", ASCENDING)])
        await self.hosts.create_index("scan_id")
        await self.scans.create_index([("outbox_pending", ASCENDING)])
        await self.scans.create_index([("status", ASCENDING), ("stale_at", ASCENDING)])

    # ---- scans -------------------------------------------------------------------------
    async def insert(self, doc: Document) -> None:
        await self.scans.insert_one(doc)

    async def get(self, org_id: str, scan_id: str, sandbox: bool | None = None) -> Document | None:
        """The organisation's scan; with ``sandbox`` given, only if it is in that world."""
        query = {"_id": scan_id, "org_id": org_id, **(world(sandbox) if sandbox is not None else {})}
        return await self.scans.find_one(query)

    async def by_id(self, scan_id: str) -> Document | None:
        return await self.scans.find_one({"_id": scan_id})

    async def transition(
        self, scan_id: str, from_states: tuple[str, ...], changes: dict[str, Any]
    ) -> Document | None:
        """Move a scan between states atomically; None when it was not in ``from_states``."""
        return await self.scans.find_one_and_update(
            {"_id": scan_id, "status": {"$in": list(from_states)}},
            {"$set": {**changes, "updated_at": utcnow()}},
            return_document=ReturnDocument.AFTER,
        )

    async def update(self, scan_id: str, changes: dict[str, Any]) -> None:
        await self.scans.update_one({"_id": scan_id}, {"$set": changes})

    async def find(
        self, query: dict[str, Any], sort: list[tuple[str, int]], skip: int, limit: int
    ) -> tuple[list[Document], int]:
        total = await self.scans.count_documents(query)
        cursor = self.scans.find(query).sort(sort).skip(skip).limit(limit)
        return [doc async for doc in cursor], total

    # ---- results -----------------------------------------------------------------------
    async def save_port(
        self, scan_id: str, org_id: str, host: str, port: int, fields: dict[str, Any]
    ) -> None:
        """Upsert by (scan, host, port): a redelivered job overwrites, never duplicates."""
        key = f"{scan_id}|{host}|{port}"
        await self.ports.update_one(
            {"_id": key},
            {"$set": {"scan_id": scan_id, "org_id": org_id, "host": host, "port": port, **fields}},
            upsert=True,
        )

    async def save_host(self, scan_id: str, org_id: str, host: str, fields: dict[str, Any]) -> None:
        await self.hosts.update_one(
            {"_id": f"{scan_id}|{host}"},
            {"$set": {"scan_id": scan_id, "org_id": org_id, "host": host, **fields}},
            upsert=True,
        )

    async def ports_of(self, scan_id: str) -> list[Document]:
        cursor = self.ports.find({"scan_id": scan_id}).sort([("host", ASCENDING), ("port", ASCENDING)])
        return [doc async for doc in cursor]

    async def hosts_of(self, scan_id: str) -> list[Document]:
        return [doc async for doc in self.hosts.find({"scan_id": scan_id}).sort("host", ASCENDING)]

    async def delete_results(self, scan_id: str) -> int:
        ports = await self.ports.delete_many({"scan_id": scan_id})
        await self.hosts.delete_many({"scan_id": scan_id})
        return int(ports.deleted_count)

    # ---- plan limits -------------------------------------------------------------------
    async def claim_slot(self, org_id: str, limit: int) -> bool:
        """Take one concurrent-scan slot unless ``limit`` are taken (atomic; 0 = unlimited)."""
        if limit <= 0:
            await self.slots.update_one({"_id": org_id}, {"$inc": {"active": 1}}, upsert=True)
            return True
        try:
            await self.slots.update_one(
                {"_id": org_id, "active": {"$lt": limit}}, {"$inc": {"active": 1}}, upsert=True
            )
        except DuplicateKeyError:
            return False  # the document exists and is at the limit
        return True

    async def release_slot(self, org_id: str) -> None:
        await self.slots.update_one({"_id": org_id, "active": {"$gt": 0}}, {"$inc": {"active": -1}})

    async def claim_daily(self, org_id: str, day: str, limit: int) -> bool:
        if limit <= 0:
            return True
        try:
            await self.daily.update_one(
                {"_id": f"{org_id}|{day}", "count": {"$lt": limit}}, {"$inc": {"count": 1}}, upsert=True
            )
        except DuplicateKeyError:
            return False
        return True

    async def release_daily(self, org_id: str, day: str) -> None:
        await self.daily.update_one({"_id": f"{org_id}|{day}", "count": {"$gt": 0}}, {"$inc": {"count": -1}})

    # ---- idempotency -------------------------------------------------------------------
    async def remember_key(self, org_id: str, key: str, fingerprint: str, scan_id: str) -> Document | None:
        """Record key -> scan; when the key was seen before, return that earlier record instead."""
        try:
            await self.idempotency.insert_one(
                {
                    "_id": f"{org_id}|{key}",
                    "fingerprint": fingerprint,
                    "scan_id": scan_id,
                    "created_at": utcnow(),
                    "claimed_at": time.time(),
                }
            )
        except DuplicateKeyError:
            return await self.idempotency.find_one({"_id": f"{org_id}|{key}"})
        return None

    async def forget_key(self, org_id: str, key: str) -> None:
        await self.idempotency.delete_one({"_id": f"{org_id}|{key}"})

    async def usage(self, org_id: str, since_key: int) -> dict[str, Any]:
        """Counts for stats; ``since_key`` is a sort key (see ``service.sort_key``)."""
        by_status: dict[str, int] = {}
        async for row in await self.scans.aggregate(
            [{"$match": {"org_id": org_id}}, {"$group": {"_id": "$status", "n": {"$sum": 1}}}]
        ):
            by_status[str(row["_id"])] = int(row["n"])
        since_count = await self.scans.count_documents({"org_id": org_id, "sort_key": {"$gte": since_key}})
        return {"by_status": by_status, "scans_since": since_count}
