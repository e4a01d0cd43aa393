"""report-service's timeline of scan events, the raw material of reports and webhooks."""

from __future__ import annotations

from nats.aio.msg import Msg
from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from rampart.lib.events import Outcome
from rampart.lib.ids import from_timestamp, utcnow
from rampart.lib.scanevents import decode_scan_event, event_type_name
from rampart.lib.store import Document
from rampart.scan.v1 import scan_pb2


class ScanTimeline:
    """One entry per event id: the insert itself is the idempotency check."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._entries = db["scan_timeline"]

    async def create_indexes(self) -> None:
        await self._entries.create_index(
            [("org_id", ASCENDING), ("scan_id", ASCENDING), ("sequence", ASCENDING)]
        )

    async def apply(self, event: scan_pb2.ScanEvent) -> Outcome:
        try:
            await self._entries.insert_one(
                {
                    "_id": event.event_id,
                    "scan_id": event.scan_id,
                    "org_id": event.owner.org_id,
                    "user_id": event.owner.user_id,
                    "type": event_type_name(event),
                    "sequence": event.sequence,
                    "occurred_at": from_timestamp(event.occurred_at),
                    "recorded_at": utcnow(),
                }
            )
        except DuplicateKeyError:
            return Outcome.DUPLICATE
        return Outcome.APPLIED

    async def handle(self, message: Msg) -> Outcome:
        return await self.apply(decode_scan_event(message))

    async def entries(self, org_id: str, scan_id: str) -> list[Document]:
        cursor = self._entries.find({"org_id": org_id, "scan_id": scan_id}).sort("sequence", ASCENDING)
        return [doc async for doc in cursor]
