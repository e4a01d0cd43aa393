"""Transactional-outbox publishing: an accepted event is stored before it is sent.

A service writes each event to its own ``outbox`` collection, then tries to publish it at
once. If the broker is away, a relay task keeps retrying in order until it is sent, so a
broker outage delays events but never loses one. Publishing twice is harmless: the event
id is the Nats-Msg-Id and every consumer is idempotent.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import nats.errors
import structlog
from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError

from rampart.lib.events import EventPublisher
from rampart.lib.ids import utcnow

log = structlog.get_logger(__name__)

DUPLICATE_KEY = 11000


class Outbox:
    """Durable queue of events waiting to be published."""

    def __init__(
        self,
        collection: AsyncCollection[dict[str, Any]],
        publisher: EventPublisher,
        retry_seconds: float = 0.5,
        subjects: str | None = None,
    ) -> None:
        # ``subjects`` (a regex) limits the relay to what this process may publish: a scan
        # worker shares scan-service's outbox but may not publish its jobs.
        self._pending: dict[str, Any] = {"published": False}
        if subjects is not None:
            self._pending["subject"] = {"$regex": subjects}
        self._collection = collection
        self._publisher = publisher
        self._retry_seconds = retry_seconds
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()

    async def create_indexes(self) -> None:
        await self._collection.create_index([("published", ASCENDING), ("seq", ASCENDING)])

    @staticmethod
    def entry(subject: str, payload: bytes, event_id: str, request_id: str = "") -> dict[str, Any]:
        """An outbox entry as stored; a caller may embed it in its own document first (see add_entries)."""
        return {
            "_id": event_id,
            "subject": subject,
            "payload": payload,
            "request_id": request_id,
            "published": False,
            "seq": utcnow().timestamp(),
        }

    async def add(self, subject: str, payload: bytes, event_id: str, request_id: str = "") -> None:
        """Store the event, then try to send everything pending (this event included).

        Adding an event id that is already stored changes nothing: a retried job re-adds its
        events, and each must still go out (and be counted) once.
        """
        await self.add_entries([self.entry(subject, payload, event_id, request_id)])

    async def add_entries(self, entries: list[dict[str, Any]]) -> None:
        """Store entries built by ``entry`` (idempotent per event id), then try to send them."""
        if entries:  # one unordered insert: the ids already stored are skipped, the rest stored
            try:
                await self._collection.insert_many(
                    [{**entry, "published": False} for entry in entries], ordered=False
                )
            except BulkWriteError as error:
                if any(e.get("code") != DUPLICATE_KEY for e in error.details.get("writeErrors", [])):
                    raise
        try:
            await self.flush()
        except (nats.errors.Error, OSError, TimeoutError) as error:
            log.warning("event kept for retry", event_ids=[e["_id"] for e in entries], error=str(error))
            self._wake.set()

    async def flush(self) -> int:
        """Publish pending events in the order they were stored; returns how many."""
        sent: list[str] = []
        async with self._lock:
            cursor = self._collection.find(self._pending).sort("seq", ASCENDING).limit(500)
            try:
                async for doc in cursor:
                    await self._publisher.publish(
                        doc["subject"], bytes(doc["payload"]), doc["_id"], doc.get("request_id") or None
                    )
                    sent.append(doc["_id"])
            finally:  # what went out is marked sent in one write (sent again after a crash: harmless)
                if sent:
                    await self._collection.update_many(
                        {"_id": {"$in": sent}}, {"$set": {"published": True, "published_at": utcnow()}}
                    )
        return len(sent)

    async def pending(self) -> int:
        return await self._collection.count_documents({"published": False})

    async def run(self) -> None:
        """Relay loop: retry pending events until sent; runs for the life of the service."""
        while True:
            with contextlib.suppress(TimeoutError):  # asyncio.timeout: a cancel is never swallowed (3.11)
                async with asyncio.timeout(self._retry_seconds * 4):
                    await self._wake.wait()
            self._wake.clear()
            try:
                await self.flush()
            except Exception as error:
                log.warning("outbox relay waiting", error=str(error))
                await asyncio.sleep(self._retry_seconds)
                self._wake.set()
