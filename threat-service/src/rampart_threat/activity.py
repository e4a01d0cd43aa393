"""threat-service's record of scan activity, built from the scan event stream."""

from __future__ import annotations

from nats.aio.msg import Msg
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
    """One document per scan; each event id is applied to it at most once."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._collection = db["scan_activity"]

    async def create_indexes(self) -> None:
        await self._collection.create_index("org_id")

    async def apply(self, event: scan_pb2.ScanEvent) -> Outcome:
        # One atomic update per event: the filter matches only while the event id is new,
        # and a redelivered event falls through to an upsert that hits the scan's _id.
        # ($nin, not $ne: nx-27017 compares $ne against the whole array.)
        try:
            await self._collection.update_one(
                {"_id": event.scan_id, "event_ids": {"$nin": [event.event_id]}},
                {
                    "$push": {"event_ids": event.event_id, "event_types": event_type_name(event)},
                    "$inc": {"events_applied": 1},
                    "$max": {"last_sequence": event.sequence},
                    "$set": {
                        "org_id": event.owner.org_id,
                        "user_id": event.owner.user_id,
                        f"status_at.{event.sequence}": STATUS_NAMES[event.status],
                        "updated_at": utcnow(),
                    },
                },
                upsert=True,
            )
        except DuplicateKeyError:
            return Outcome.DUPLICATE
        return Outcome.APPLIED

    async def handle(self, message: Msg) -> Outcome:
        return await self.apply(decode_scan_event(message))

    async def get(self, org_id: str, scan_id: str) -> Document:
        doc = await self._collection.find_one({"_id": scan_id, "org_id": org_id})
        if doc is None:
            raise NotFound("no activity recorded for this scan", scan_id=scan_id)
        return doc


def last_status(doc: Document) -> str:
    """The status carried by the highest-sequence event, whatever order events arrived in."""
    statuses: dict[str, str] = doc.get("status_at", {})
    if not statuses:
        return ""
    return statuses[max(statuses, key=int)]
