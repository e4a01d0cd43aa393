"""threat-service's record of scan activity, built from the scan event stream."""

from __future__ import annotations

from nats.aio.msg import Msg
from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from rampart.lib.errors import NotFound
from rampart.lib.events import Outcome
from rampart.lib.ids import utcnow
from rampart.lib.scanevents import decode_scan_event, event_type_name
from rampart.lib.store import Document
from rampart.scan.v1 import scan_pb2

STATUS_NAMES = {
    value: name.removeprefix("SCAN_STATUS_").lower() for name, value in scan_pb2.ScanStatus.items()
}


class ScanActivity:
    """One small summary per scan; each event id is applied to it at most once.

    De-duplication is one document per event in ``scan_activity_events`` (its ``_id`` is the
    event id, so the insert is the check), not a list inside the summary: every event costs
    the same few constant-size writes however long the scan, and the summary stays a few
    hundred bytes (counters per event type, the newest status), far from the 16 MB limit.
    """

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._collection = db["scan_activity"]
        self._seen = db["scan_activity_events"]

    async def create_indexes(self) -> None:
        await self._collection.create_index("org_id")
        await self._seen.create_index([("scan_id", ASCENDING), ("applied", ASCENDING)])

    async def apply(self, event: scan_pb2.ScanEvent) -> Outcome:
        kind = event_type_name(event)
        try:
            await self._seen.insert_one(
                {
                    "_id": event.event_id,
                    "scan_id": event.scan_id,
                    "type": kind,
                    "sequence": event.sequence,
                    "status": STATUS_NAMES[event.status],
                    "applied": False,
                }
            )
        except DuplicateKeyError:
            marker = await self._seen.find_one({"_id": event.event_id})
            if marker is not None and marker.get("applied") is False:
                # Stopped between the marker and the summary (a crash): recount from the markers.
                await self._recount(event)
                return Outcome.APPLIED
            return Outcome.DUPLICATE
        summary = await self._collection.update_one(
            {"_id": event.scan_id},
            {
                "$inc": {"events_applied": 1, f"counts.{kind}": 1},
                "$min": {f"first_seen.{kind}": event.sequence},
                "$set": {
                    "org_id": event.owner.org_id,
                    "user_id": event.owner.user_id,
                    "updated_at": utcnow(),
                },
                "$setOnInsert": {"last_sequence": -1, "last_status": ""},
            },
            upsert=True,
        )
        if summary.upserted_id is not None:  # nx-27017 skips $min when an upsert inserts
            await self._collection.update_one(
                {"_id": event.scan_id}, {"$min": {f"first_seen.{kind}": event.sequence}}
            )
        await self._newest_status(event.scan_id, event.sequence, STATUS_NAMES[event.status])
        await self._seen.update_one({"_id": event.event_id}, {"$set": {"applied": True}})
        return Outcome.APPLIED

    async def _newest_status(self, scan_id: str, sequence: int, status: str) -> None:
        """The status of the highest-sequence event wins, whatever order events arrive in."""
        await self._collection.update_one(
            {"_id": scan_id, "last_sequence": {"$lt": sequence}},
            {"$set": {"last_sequence": sequence, "last_status": status}},
        )

    async def _recount(self, event: scan_pb2.ScanEvent) -> None:
        """Rebuild one scan's summary from its event markers (the rare recovery path)."""
        counts: dict[str, int] = {}
        first: dict[str, int] = {}
        newest = (-1, "")
        async for marker in self._seen.find({"scan_id": event.scan_id}):
            kind = marker["type"]
            counts[kind] = counts.get(kind, 0) + 1
            first[kind] = min(first.get(kind, marker["sequence"]), marker["sequence"])
            newest = max(newest, (marker["sequence"], marker["status"]))
        await self._collection.update_one(
            {"_id": event.scan_id},
            {
                "$set": {
                    "org_id": event.owner.org_id,
                    "user_id": event.owner.user_id,
                    "events_applied": sum(counts.values()),
                    "counts": counts,
                    "first_seen": first,
                    "last_sequence": newest[0],
                    "last_status": newest[1],
                    "updated_at": utcnow(),
                }
            },
            upsert=True,
        )
        await self._seen.update_many(
            {"scan_id": event.scan_id, "applied": False}, {"$set": {"applied": True}}
        )

    async def handle(self, message: Msg) -> Outcome:
        return await self.apply(decode_scan_event(message))

    async def get(self, org_id: str, scan_id: str) -> Document:
        doc = await self._collection.find_one({"_id": scan_id, "org_id": org_id})
        if doc is None:
            raise NotFound("no activity recorded for this scan", scan_id=scan_id)
        return doc


def last_status(doc: Document) -> str:
    """The status carried by the highest-sequence event, whatever order events arrived in."""
    return str(doc.get("last_status", ""))


def event_types(doc: Document) -> list[str]:
    """Each event type seen, once, in the order the scan produced them."""
    first: dict[str, int] = doc.get("first_seen", {})
    return sorted(first, key=lambda kind: (first[kind], kind))
