"""What keeps accepted scans from being lost or run twice: leases, the sweeper, counter repair.

- A worker runs a scan only under a *lease* it took in the store (``claim``), renewed with its
  heartbeat; a second delivery of a scan whose lease is held and unexpired is not run, and a
  dead worker's lease expires, so another worker takes the scan over.
- A scan is inserted with its pending outbox entries inside it (one document, so atomic with
  the scan); the create path then moves them to the outbox. The sweeper moves any that a
  crash left behind, and requeues active scans nobody has touched for ``requeue_after``
  seconds (a job lost with the broker, or given up after its deliveries ran out).
- Concurrency slots and daily counts are counters (the atomic gate at admission); the
  sweeper reconciles each with the scans that exist, so a reservation whose scan was never
  inserted (a crash in between) is given back.

Times used in filters are epoch seconds (numbers): nx-27017 compares dates unreliably.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import structlog
from pymongo import ReturnDocument

from rampart.lib.outbox import Outbox
from rampart.lib.store import Document
from rampart_scan import domain, events
from rampart_scan.documents import scan_from_doc
from rampart_scan.domain import IllegalTransition, Scan
from rampart_scan.interfaces import Clock, ScanStore, SystemClock
from rampart_scan.repository import ScanRepository

log = structlog.get_logger(__name__)


def now_s() -> float:
    return time.time()


class Leases:
    """Claims on scans: one worker at a time runs a scan."""

    def __init__(
        self,
        store: ScanStore,
        worker_id: str,
        lease_seconds: float,
        requeue_after: float,
        clock: Clock | None = None,
    ) -> None:
        self._store = store
        self._worker = worker_id
        self._lease = lease_seconds
        self._requeue_after = requeue_after
        self._clock = clock or SystemClock()

    async def claim(self, scan: Scan) -> Scan | None:
        """Take the scan (running, leased to this worker) unless another worker's lease is live."""
        now = self._clock.time()
        token = f"{self._worker}/{uuid.uuid4().hex[:12]}"
        try:
            claimed = scan.claim(
                self._worker, token, now, self._lease, self._requeue_after, self._clock.now()
            )
        except IllegalTransition:  # held, or finished: as the store would answer
            return None
        return await self._store.claim(claimed, now)

    async def renew(self, scan: Scan) -> bool:
        """Extend this worker's lease; False when the claim was lost (taken over, or finished)."""
        try:
            renewed = scan.renew(scan.lease.claim, self._clock.time(), self._lease, self._requeue_after)
        except IllegalTransition:
            return False
        return await self._store.renew(renewed)

    async def finish(self, finished: Scan) -> Scan | None:
        """Store the final state, only while this worker's claim is the current one."""
        return await self._store.finish(finished, claimed=True)


class Sweeper:
    """scan-service's background repair: pending outbox entries, lost jobs, leaked counters."""

    def __init__(self, repo: ScanRepository, outbox: Outbox, every: float, requeue_after: float) -> None:
        self._repo = repo
        self._outbox = outbox
        self._every = every
        self._requeue_after = requeue_after
        self._suspects: dict[str, tuple[int, int]] = {}

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self._every)
            try:
                await self.sweep()
            except Exception as error:  # the store may be away; try again next round
                log.warning("sweep failed", error=str(error))

    async def sweep(self) -> dict[str, int]:
        return {
            "moved": await self.move_pending(),
            "requeued": await self.requeue_stale(),
            "repaired": await self.reconcile(),
        }

    async def move_pending(self) -> int:
        """Outbox entries still inside their scan (the create path stopped before moving them)."""
        moved = 0
        async for doc in self._repo.scans.find({"outbox_pending": True}):
            await self._outbox.add_entries(list(doc.get("outbox") or []))
            scan = scan_from_doc(doc)
            if scan.shards.sharded:  # its shard jobs, named by its plan, written again in batches
                done, _ = await self._repo.shards_done(scan.id)
                for batch in events.shard_jobs(scan, "", done):
                    await self._outbox.add_entries(batch)
            await self._repo.scans.update_one({"_id": doc["_id"]}, {"$set": {"outbox_pending": False}})
            moved += 1
        return moved

    async def requeue_stale(self) -> int:
        """Active scans whose lease is expired and that nobody touched for ``requeue_after``."""
        requeued = 0
        while True:
            now = now_s()
            doc = await self._repo.scans.find_one_and_update(
                {
                    "status": {"$in": list(domain.ACTIVE_STATES)},
                    "stale_at": {"$lt": now},
                    "lease_until": {"$lt": now},
                    "outbox_pending": False,
                },
                {"$set": {"stale_at": now + self._requeue_after}, "$inc": {"requeues": 1}},
                return_document=ReturnDocument.AFTER,
            )
            if doc is None:
                return requeued
            log.warning("scan requeued", scan_id=doc["_id"], status=doc["status"], requeues=doc["requeues"])
            scan = scan_from_doc(doc)
            if scan.shards.sharded:  # every shard not done gets its job again (a live lease keeps its run)
                done, _ = await self._repo.shards_done(scan.id)
                for batch in events.shard_jobs(scan, "", done, f".q{doc['requeues']}"):
                    await self._outbox.add_entries(batch)
            else:
                suffix = events.run_suffix(scan)
                job = events.job_entry(scan, "", f"{doc['_id']}.job{suffix}.{doc['requeues']}")
                await self._outbox.add_entries([job])
            requeued += 1

    async def reconcile(self) -> int:
        """Counters that disagree with the scans twice in a row (not a create in flight) are reset."""
        repaired = 0
        seen: dict[str, tuple[int, int]] = {}
        async for slot in self._repo.slots.find({}):
            org = slot["_id"]
            actual = await self._repo.scans.count_documents(
                {"org_id": org, "status": {"$in": list(domain.ACTIVE_STATES)}}
            )
            repaired += await self._repair(seen, self._repo.slots, f"slot:{org}", org, "active", slot, actual)
        day = time.strftime("%Y-%m-%d", time.gmtime())
        async for daily in self._repo.daily.find({"count": {"$gt": 0}}):
            org, _, when = str(daily["_id"]).rpartition("|")
            if when != day:
                continue
            actual = await self._repo.scans.count_documents({"org_id": org, "day": day})
            repaired += await self._repair(
                seen, self._repo.daily, f"day:{org}", daily["_id"], "count", daily, actual
            )
        self._suspects = seen
        return repaired

    async def _repair(
        self,
        seen: dict[str, tuple[int, int]],
        collection: Any,
        key: str,
        _id: str,
        field: str,
        doc: Document,
        actual: int,
    ) -> int:
        value = int(doc[field])
        if value == actual:
            return 0
        if self._suspects.get(key) != (value, actual):
            seen[key] = (value, actual)  # look again next round: a create may be between its steps
            return 0
        result = await collection.update_one({"_id": _id, field: value}, {"$set": {field: actual}})
        if result.modified_count:
            log.warning("counter repaired", counter=key, was=value, now=actual)
        return int(result.modified_count)
