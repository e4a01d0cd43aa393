"""Mongo adapter for scans, their port and host results, counters and idempotency keys.

It takes and returns domain types; ``documents`` maps them to the stored fields. State
changes are compare-and-set writes (the store has no multi-document transactions): the
domain decides what a transition sets, the filter here re-checks its precondition atomically.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from rampart.lib.store import Document
from rampart_scan.documents import (
    host_fields,
    host_from_doc,
    port_fields,
    port_from_doc,
    scan_from_doc,
    scan_to_doc,
)
from rampart_scan.domain import (
    ACTIVE_STATES,
    COMPLETED,
    QUEUED,
    RUNNING,
    HostResult,
    Order,
    PortCounts,
    PortResult,
    Scan,
    ScanFilter,
)
from rampart_scan.events import PendingEvents
from rampart_scan.interfaces import KeyRecord, ShardLease

DUPLICATE_KEY = 11000
SORTS = {"created_at": "sort_key", "status": "status", "completed_at": "completed_at"}


def world(sandbox: bool) -> dict[str, Any]:
    """Test keys see only sandbox scans, live callers only live ones (docs/security/keys.md)."""
    return {"sandbox": True} if sandbox else {"sandbox": {"$ne": True}}


def _scan(doc: Document | None) -> Scan | None:
    return None if doc is None else scan_from_doc(doc)


class ScanRepository:
    """Scans, scoped by organisation on every read and write."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.scans = db["scans"]
        self.ports = db["scan_ports"]
        self.hosts = db["scan_hosts"]
        self.slots = db["active_scans"]
        self.daily = db["daily_scans"]
        self.idempotency = db["idempotency_keys"]
        self.shards = db["scan_shards"]

    async def create_indexes(self) -> None:
        await self.scans.create_index([("org_id", ASCENDING), ("sort_key", DESCENDING)])
        await self.scans.create_index([("org_id", ASCENDING), ("status", ASCENDING)])
        await self.ports.create_index([("scan_id", ASCENDING), ("host", ASCENDING), ("port", ASCENDING)])
        await self.hosts.create_index("scan_id")
        await self.scans.create_index([("outbox_pending", ASCENDING)])
        await self.scans.create_index([("status", ASCENDING), ("stale_at", ASCENDING)])
        await self.shards.create_index([("scan_id", ASCENDING), ("done", ASCENDING)])

    # ---- scans -------------------------------------------------------------------------
    async def add(self, scan: Scan, pending: PendingEvents) -> None:
        """Insert the scan carrying its pending outbox entries: one atomic write for both."""
        await self.scans.insert_one(
            {**scan_to_doc(scan), "outbox": list(pending.entries), "outbox_pending": True}
        )

    async def add_many(self, items: list[tuple[Scan, PendingEvents]]) -> set[str]:
        """Insert scans with their pending entries in one unordered write; the ids inserted now.

        A scan whose id is already stored (started before a crash, or by an overlapping
        scheduler) is left as it is and not in the answer.
        """
        docs = [
            {**scan_to_doc(scan), "outbox": list(pending.entries), "outbox_pending": True}
            for scan, pending in items
        ]
        ids = {str(doc["_id"]) for doc in docs}
        if not docs:
            return ids
        try:
            await self.scans.insert_many(docs, ordered=False)
        except BulkWriteError as error:
            failed = error.details.get("writeErrors", [])
            if any(w.get("code") != DUPLICATE_KEY for w in failed):
                raise
            return ids - {str(docs[w["index"]]["_id"]) for w in failed}
        return ids

    async def released(self, scan_id: str) -> None:
        """The scan's entries are in the outbox now."""
        await self.scans.update_one({"_id": scan_id}, {"$set": {"outbox_pending": False}})

    async def released_many(self, scan_ids: list[str]) -> None:
        if scan_ids:
            await self.scans.update_many({"_id": {"$in": scan_ids}}, {"$set": {"outbox_pending": False}})

    async def discard_unreleased(self, scan_id: str) -> None:
        """Delete a scan nothing of which was published yet (its key was taken over)."""
        await self.scans.delete_one({"_id": scan_id, "outbox_pending": True})

    async def get(self, org_id: str, scan_id: str, sandbox: bool | None = None) -> Scan | None:
        """The organisation's scan; with ``sandbox`` given, only if it is in that world."""
        query = {"_id": scan_id, "org_id": org_id, **(world(sandbox) if sandbox is not None else {})}
        return _scan(await self.scans.find_one(query))

    async def by_id(self, scan_id: str) -> Scan | None:
        return _scan(await self.scans.find_one({"_id": scan_id}))

    async def by_ids(self, scan_ids: list[str]) -> dict[str, Scan]:
        """The scans among these ids that exist (one read; callers check the owner)."""
        if not scan_ids:
            return {}
        found = self.scans.find({"_id": {"$in": list(dict.fromkeys(scan_ids))}})
        return {str(doc["_id"]): scan_from_doc(doc) async for doc in found}

    async def find(
        self, where: ScanFilter, order: Order, skip: int, limit: int, by_key: bool = False
    ) -> tuple[list[Scan], int]:
        """A page of scans and how many match; ``by_key`` orders by creation only (cursor paging)."""
        query: dict[str, Any] = {"org_id": where.org_id, **world(where.sandbox)}
        if where.target:
            query["targets"] = {"$in": [where.target]}
        if where.status:
            query["status"] = where.status
        bounds = {
            op: value
            for op, value in (("$gte", where.min_key), ("$lt", where.max_key), ("$gt", where.after_key))
            if value is not None
        }
        if bounds:
            query["sort_key"] = bounds
        direction = DESCENDING if order.descending else ASCENDING
        sort = (
            [("sort_key", direction)]
            if by_key
            else [(SORTS[order.field], direction), ("sort_key", direction)]
        )
        total = await self.scans.count_documents(query)
        cursor = self.scans.find(query).sort(sort).skip(skip).limit(limit)
        return [scan_from_doc(doc) async for doc in cursor], total

    async def cancel_queued(self, cancelled: Scan) -> Scan | None:
        """Store the cancel of a scan still queued; None when it left the queue meanwhile."""
        changes = {
            "status": cancelled.status,
            "completed_at": cancelled.completed_at,
            "updated_at": cancelled.updated_at,
        }
        return _scan(
            await self.scans.find_one_and_update(
                {"_id": cancelled.id, "status": QUEUED},
                {"$set": changes},
                return_document=ReturnDocument.AFTER,
            )
        )

    async def request_cancel(self, scan_id: str) -> None:
        await self.scans.update_one({"_id": scan_id}, {"$set": {"cancel_requested": True}})

    async def claim(self, claimed: Scan, now: float) -> Scan | None:
        """Store a claim unless another worker's lease is live (or the scan ended) meanwhile."""
        lease = claimed.lease
        changes = {
            "status": RUNNING,
            "worker": lease.worker,
            "claim": lease.claim,
            "lease_until": lease.until,
            "stale_at": claimed.stale_at,
            "started_at": claimed.started_at,
        }
        return _scan(
            await self.scans.find_one_and_update(
                {"_id": claimed.id, "status": {"$in": list(ACTIVE_STATES)}, "lease_until": {"$lt": now}},
                {"$set": changes, "$inc": {"attempts": 1}},
                return_document=ReturnDocument.AFTER,
            )
        )

    async def renew(self, renewed: Scan) -> bool:
        """Store a renewed lease; False when the claim is no longer the current one."""
        result = await self.scans.update_one(
            {"_id": renewed.id, "claim": renewed.lease.claim, "status": RUNNING},
            {"$set": {"lease_until": renewed.lease.until, "stale_at": renewed.stale_at}},
        )
        return result.matched_count == 1

    async def finish(self, finished: Scan, claimed: bool) -> Scan | None:
        """Store a final state once; with ``claimed``, only while the scan's claim is this one."""
        query: dict[str, Any] = {"_id": finished.id, "status": {"$in": list(ACTIVE_STATES)}}
        if claimed:
            query["claim"] = finished.lease.claim
        changes: dict[str, Any] = {
            "status": finished.status,
            "completed_at": finished.completed_at,
            "updated_at": finished.updated_at,
            "counts": finished.counts.as_dict(),
            "lease_until": finished.lease.until,
        }
        if finished.status == COMPLETED:
            changes["progress"] = finished.progress
        if finished.error is not None:
            changes["error"] = {"code": finished.error.code, "message": finished.error.message}
        return _scan(
            await self.scans.find_one_and_update(
                query, {"$set": changes}, return_document=ReturnDocument.AFTER
            )
        )

    async def save_progress(self, scan: Scan) -> None:
        await self.scans.update_one({"_id": scan.id}, {"$set": {"progress": scan.progress}})

    async def save_counts(self, scan_id: str, counts: PortCounts) -> None:
        await self.scans.update_one({"_id": scan_id}, {"$set": {"counts": counts.as_dict()}})

    async def save_excluded(self, scan_id: str, endpoints: list[str]) -> None:
        await self.scans.update_one({"_id": scan_id}, {"$set": {"excluded_endpoints": endpoints}})

    # ---- resume ------------------------------------------------------------------------
    async def reopen(self, resumed: Scan, was: str, pending: PendingEvents) -> Scan | None:
        """Queue a finished scan again with its pending entries inside it (one write); None if it moved."""
        changes = {
            "status": resumed.status,
            "updated_at": resumed.updated_at,
            "resumes": resumed.resumes,
            "lease_until": 0.0,
            "stale_at": resumed.stale_at,
            "outbox": list(pending.entries),
            "outbox_pending": True,
        }
        unset = {"started_at": "", "completed_at": "", "error": "", "cancel_requested": "", "claim": ""}
        return _scan(
            await self.scans.find_one_and_update(
                {"_id": resumed.id, "status": was},
                {"$set": changes, "$unset": unset},
                return_document=ReturnDocument.AFTER,
            )
        )

    # ---- shards ------------------------------------------------------------------------
    async def start_sharded(self, scan_id: str, at: datetime, stale_at: float) -> Scan | None:
        """queued -> running on the first shard claimed; None when it was already running (or ended)."""
        return _scan(
            await self.scans.find_one_and_update(
                {"_id": scan_id, "status": QUEUED},
                {"$set": {"status": RUNNING, "started_at": at, "stale_at": stale_at}},
                return_document=ReturnDocument.AFTER,
            )
        )

    async def touch(self, scan_id: str, stale_at: float) -> None:
        """A shard of the scan is alive: the sweeper leaves the scan alone until ``stale_at``."""
        await self.scans.update_one({"_id": scan_id}, {"$set": {"stale_at": stale_at}})

    async def claim_shard(self, scan_id: str, index: int, lease: ShardLease, now: float) -> int | None:
        """Take a shard not done whose lease expired; the run's attempt number, or None when held/done."""
        try:
            await self.shards.update_one(
                {"_id": f"{scan_id}.{index}", "done": False, "lease_until": {"$lt": now}},
                {
                    "$set": {
                        "scan_id": scan_id,
                        "index": index,
                        "done": False,  # always present: nx-27017's $ne does not match a missing field
                        "claim": lease.claim,
                        "worker": lease.worker,
                        "lease_until": lease.until,
                        "probes_done": 0,  # a rerun starts its block again
                    },
                    "$inc": {"attempts": 1},
                },
                upsert=True,
            )
        except DuplicateKeyError:
            return None  # the shard exists and is done or leased
        doc = await self.shards.find_one({"_id": f"{scan_id}.{index}"})
        if doc is None or doc.get("claim") != lease.claim:
            return None
        return int(doc.get("attempts", 1))

    async def renew_shard(self, scan_id: str, index: int, lease: ShardLease) -> bool:
        result = await self.shards.update_one(
            {"_id": f"{scan_id}.{index}", "claim": lease.claim, "done": False},
            {"$set": {"lease_until": lease.until}},
        )
        return result.matched_count == 1

    async def release_shard(self, scan_id: str, index: int, claim: str) -> None:
        """Stopped before the end (cancel, timeout): not done, and free for a resume at once."""
        await self.shards.update_one(
            {"_id": f"{scan_id}.{index}", "claim": claim, "done": False},
            {"$set": {"lease_until": 0.0}},
        )

    async def finish_shard(self, scan_id: str, index: int, claim: str, counts: PortCounts) -> bool:
        """Mark the shard done once, only while ``claim`` holds it."""
        result = await self.shards.update_one(
            {"_id": f"{scan_id}.{index}", "claim": claim, "done": False},
            {"$set": {"done": True, "counts": counts.as_dict(), "lease_until": 0.0}},
        )
        return result.modified_count == 1

    async def shard_done(self, scan_id: str, index: int) -> bool:
        return await self.shards.count_documents({"_id": f"{scan_id}.{index}", "done": True}) > 0

    async def shards_done(self, scan_id: str) -> tuple[frozenset[int], PortCounts]:
        """Which shards are done and what they counted together (recounted: exact however often)."""
        done: set[int] = set()
        counts = PortCounts()
        async for doc in self.shards.find({"scan_id": scan_id, "done": True}, {"index": 1, "counts": 1}):
            done.add(int(doc["index"]))
            counts = counts.plus(doc.get("counts") or {})
        return frozenset(done), counts

    async def record_shards_done(self, scan_id: str, done: int, counts: PortCounts) -> bool:
        """Raise the scan's done-shard counter to ``done`` (compare-and-set: it only ever grows)."""
        result = await self.scans.update_one(
            {"_id": scan_id, "shards_done": {"$lt": done}},
            {"$set": {"shards_done": done, "counts": counts.as_dict()}},
        )
        return result.modified_count == 1

    async def record_shard_probes(self, scan_id: str, index: int, claim: str, probes: int) -> bool:
        """The probes a running shard has done so far; only while ``claim`` holds it, not done."""
        result = await self.shards.update_one(
            {"_id": f"{scan_id}.{index}", "claim": claim, "done": False},
            {"$set": {"probes_done": probes}},
        )
        return result.matched_count == 1

    async def shard_progress(self, scan_id: str) -> tuple[frozenset[int], int]:
        """The done shards, and the probes done inside the shards not done (one read of the shards)."""
        done: set[int] = set()
        running = 0
        fields = {"index": 1, "done": 1, "probes_done": 1}
        async for doc in self.shards.find({"scan_id": scan_id}, fields):
            if doc.get("done"):
                done.add(int(doc["index"]))
            else:
                running += int(doc.get("probes_done", 0))
        return frozenset(done), running

    async def raise_progress(self, scan_id: str, progress: int) -> bool:
        """Raise a running scan's progress to ``progress`` (compare-and-set: it never goes back)."""
        result = await self.scans.update_one(
            {"_id": scan_id, "status": RUNNING, "progress": {"$lt": progress}},
            {"$set": {"progress": progress}},
        )
        return result.modified_count == 1

    # ---- results -----------------------------------------------------------------------
    async def save_port(self, scan: Scan, result: PortResult) -> None:
        """Upsert by (scan, host, port): a redelivered job overwrites, never duplicates."""
        key = f"{scan.id}|{result.host}|{result.port}"
        ids = {"scan_id": scan.id, "org_id": scan.owner.org_id, "host": result.host, "port": result.port}
        await self.ports.update_one({"_id": key}, {"$set": {**ids, **port_fields(result)}}, upsert=True)

    async def save_host(self, scan: Scan, result: HostResult) -> None:
        ids = {"scan_id": scan.id, "org_id": scan.owner.org_id, "host": result.host}
        await self.hosts.update_one(
            {"_id": f"{scan.id}|{result.host}"}, {"$set": {**ids, **host_fields(result)}}, upsert=True
        )

    async def ports_of(self, scan_id: str) -> list[PortResult]:
        cursor = self.ports.find({"scan_id": scan_id}).sort([("host", ASCENDING), ("port", ASCENDING)])
        return [port_from_doc(doc) async for doc in cursor]

    async def hosts_of(self, scan_id: str) -> list[HostResult]:
        return [
            host_from_doc(doc) async for doc in self.hosts.find({"scan_id": scan_id}).sort("host", ASCENDING)
        ]

    async def delete_results(self, scan_id: str, at: datetime) -> int:
        ports = await self.ports.delete_many({"scan_id": scan_id})
        await self.hosts.delete_many({"scan_id": scan_id})
        await self.scans.update_one({"_id": scan_id}, {"$set": {"results_deleted_at": at}})
        return int(ports.deleted_count)

    # ---- plan limits -------------------------------------------------------------------
    async def claim_slot(self, org_id: str, limit: int, count: int = 1) -> bool:
        """Take ``count`` concurrent-scan slots unless that passes ``limit`` (atomic, all or none;
        0 = unlimited)."""
        if limit <= 0:
            await self.slots.update_one({"_id": org_id}, {"$inc": {"active": count}}, upsert=True)
            return True
        if count > limit:
            return False
        try:
            await self.slots.update_one(
                {"_id": org_id, "active": {"$lte": limit - count}}, {"$inc": {"active": count}}, upsert=True
            )
        except DuplicateKeyError:
            return False  # the document exists and has fewer than ``count`` slots left
        return True

    async def release_slot(self, org_id: str, count: int = 1) -> None:
        await self.slots.update_one({"_id": org_id, "active": {"$gte": count}}, {"$inc": {"active": -count}})

    async def claim_daily(self, org_id: str, day: str, limit: int, count: int = 1) -> bool:
        if limit <= 0:
            return True
        if count > limit:
            return False
        try:
            await self.daily.update_one(
                {"_id": f"{org_id}|{day}", "count": {"$lte": limit - count}},
                {"$inc": {"count": count}},
                upsert=True,
            )
        except DuplicateKeyError:
            return False
        return True

    async def release_daily(self, org_id: str, day: str, count: int = 1) -> None:
        await self.daily.update_one(
            {"_id": f"{org_id}|{day}", "count": {"$gte": count}}, {"$inc": {"count": -count}}
        )

    # ---- idempotency -------------------------------------------------------------------
    async def remember_key(self, org_id: str, key: str, record: KeyRecord) -> KeyRecord | None:
        """Record key -> scan; when the key was seen before, return that earlier record instead."""
        try:
            await self.idempotency.insert_one(
                {
                    "_id": f"{org_id}|{key}",
                    "fingerprint": record.fingerprint,
                    "scan_id": record.scan_id,
                    "created_at": record.created_at,
                    "claimed_at": record.claimed_at,
                }
            )
        except DuplicateKeyError:
            return await self.key(org_id, key)
        return None

    async def key(self, org_id: str, key: str) -> KeyRecord | None:
        doc = await self.idempotency.find_one({"_id": f"{org_id}|{key}"})
        if doc is None:
            return None
        return KeyRecord(doc["fingerprint"], doc["scan_id"], doc.get("created_at"), doc.get("claimed_at"))

    async def take_over_key(self, org_id: str, key: str, old_scan_id: str, scan_id: str, at: float) -> bool:
        """Bind the key to ``scan_id`` if it still names ``old_scan_id`` (compare-and-set)."""
        taken = await self.idempotency.update_one(
            {"_id": f"{org_id}|{key}", "scan_id": old_scan_id},
            {"$set": {"scan_id": scan_id, "claimed_at": at}},
        )
        return taken.modified_count == 1

    async def forget_key(self, org_id: str, key: str, scan_id: str) -> None:
        """Drop the key if it still names ``scan_id`` (the create it bound was refused)."""
        await self.idempotency.delete_one({"_id": f"{org_id}|{key}", "scan_id": scan_id})

    async def usage(self, org_id: str, since_key: int) -> tuple[dict[str, int], int]:
        """Scans by status, and how many were created since ``since_key`` (a ``Scan.order_key``)."""
        by_status: dict[str, int] = {}
        async for row in await self.scans.aggregate(
            [{"$match": {"org_id": org_id}}, {"$group": {"_id": "$status", "n": {"$sum": 1}}}]
        ):
            by_status[str(row["_id"])] = int(row["n"])
        since_count = await self.scans.count_documents({"org_id": org_id, "sort_key": {"$gte": since_key}})
        return by_status, since_count
