"""Where webhooks and deliveries are stored: the only module that knows their document fields.

Times are epoch seconds (numbers): the local store range-queries numbers only (docs/store.md).
A delivery's ``_id`` is derived from (webhook, event), so queuing the same event twice is a
duplicate key. The dispatcher claims a due delivery with a lease (``lease_until``); a process
that dies mid-attempt leaves a lease that simply runs out, and the delivery is tried again.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from rampart.lib.store import Document
from rampart_report.webhooks.domain import Attempt, Delivery, DeliveryStatus, SealedSecret, Webhook

CANDIDATES_PER_SLOT = 4  # candidates read per free slot (some belong to endpoints at their share)
UNLIMITED = 1 << 30


@dataclass(frozen=True)
class Share:
    """How many deliveries each webhook has in flight, and how many it may have."""

    in_flight: Mapping[str, int] = field(default_factory=dict)
    per_webhook: int = UNLIMITED

    def room(self, webhook_id: str) -> int:
        return self.per_webhook - self.in_flight.get(webhook_id, 0)

    def full(self) -> list[str]:
        return sorted(hook for hook in self.in_flight if self.room(hook) <= 0)


class WebhookRepository(Protocol):
    """What the webhook use cases need from storage (tests use an in-memory fake)."""

    async def add_webhook(self, webhook: Webhook) -> None: ...

    async def save_webhook(self, webhook: Webhook) -> None: ...

    async def get_webhook(self, org_id: str, webhook_id: str) -> Webhook | None: ...

    async def list_webhooks(self, org_id: str, offset: int, limit: int) -> list[Webhook]: ...

    async def subscribers(self, org_id: str, event_type: str) -> list[Webhook]: ...

    async def delete_webhook(self, org_id: str, webhook_id: str) -> bool: ...

    async def record_health(self, org_id: str, webhook_id: str, ok: bool, at: float) -> Webhook | None:
        """An attempt's outcome for the endpoint's health: a success resets it, a failure counts
        (and starts ``failing_since`` when it is the first since a success); the webhook after."""
        ...

    async def disable(self, org_id: str, webhook_id: str, reason: str, at: float) -> bool:
        """Switch an enabled webhook off with a reason; False when it was not enabled (another
        process did it first, or the user did)."""
        ...

    async def add_delivery(self, delivery: Delivery) -> bool: ...

    async def get_delivery(self, org_id: str, webhook_id: str, delivery_id: str) -> Delivery | None: ...

    async def list_deliveries(
        self, org_id: str, webhook_id: str, offset: int, limit: int
    ) -> list[Delivery]: ...

    async def claim_due(
        self, now: float, lease_seconds: float, limit: int, share: Share | None = None
    ) -> list[Delivery]: ...

    async def save_progress(self, delivery: Delivery) -> None: ...

    async def requeue(
        self, org_id: str, webhook_id: str, delivery_id: str, now: float
    ) -> Delivery | None: ...


def _webhook_doc(webhook: Webhook) -> Document:
    return {
        "_id": webhook.webhook_id,
        "org_id": webhook.org_id,
        "user_id": webhook.user_id,
        "url": webhook.url,
        "events": list(webhook.events),
        "secret": webhook.secret.sealed,
        "description": webhook.description,
        "enabled": webhook.enabled,
        "created_at": webhook.created_at,
        "updated_at": webhook.updated_at,
        "previous_secret": webhook.previous_secret.sealed if webhook.previous_secret else "",
        "previous_expires_at": webhook.previous_expires_at,
        "disabled_reason": webhook.disabled_reason,
        "disabled_at": webhook.disabled_at,
    }


HEALTH = {"failing_since": 0.0, "failed_attempts": 0}  # record_health's fields


def _health_doc(webhook: Webhook) -> Document:
    return {"failing_since": webhook.failing_since, "failed_attempts": webhook.failed_attempts}


def _webhook(doc: Document) -> Webhook:
    previous = doc.get("previous_secret") or ""
    return Webhook(
        webhook_id=doc["_id"],
        org_id=doc["org_id"],
        user_id=doc.get("user_id", ""),
        url=doc["url"],
        events=tuple(doc.get("events", ())),
        secret=SealedSecret(doc["secret"]),
        description=doc.get("description", ""),
        enabled=bool(doc.get("enabled", True)),
        created_at=float(doc.get("created_at", 0.0)),
        updated_at=float(doc.get("updated_at", 0.0)),
        previous_secret=SealedSecret(previous) if previous else None,
        previous_expires_at=float(doc.get("previous_expires_at", 0.0)),
        disabled_reason=doc.get("disabled_reason", ""),
        disabled_at=float(doc.get("disabled_at", 0.0)),
        failing_since=float(doc.get("failing_since", 0.0)),
        failed_attempts=int(doc.get("failed_attempts", 0)),
    )


def _attempt_doc(attempt: Attempt) -> Document:
    return {
        "attempt": attempt.attempt,
        "at": attempt.at,
        "status_code": attempt.status_code,
        "latency_ms": attempt.latency_ms,
        "error": attempt.error,
        "response_body": attempt.response_body,
    }


def _attempt(doc: Document) -> Attempt:
    return Attempt(
        attempt=int(doc["attempt"]),
        at=float(doc["at"]),
        status_code=int(doc.get("status_code", 0)),
        latency_ms=int(doc.get("latency_ms", 0)),
        error=doc.get("error", ""),
        response_body=doc.get("response_body", ""),
    )


def _progress(delivery: Delivery) -> Document:
    return {
        "status": delivery.status.value,
        "attempts": delivery.attempts,
        "next_attempt_at": delivery.next_attempt_at,
        "log": [_attempt_doc(a) for a in delivery.log],
    }


def _delivery(doc: Document) -> Delivery:
    return Delivery(
        delivery_id=doc["_id"],
        webhook_id=doc["webhook_id"],
        org_id=doc["org_id"],
        event_id=doc["event_id"],
        event_type=doc["event_type"],
        body=doc["body"].encode(),
        created_at=float(doc["created_at"]),
        status=DeliveryStatus(doc["status"]),
        attempts=int(doc.get("attempts", 0)),
        next_attempt_at=float(doc.get("next_attempt_at", 0.0)),
        log=tuple(_attempt(a) for a in doc.get("log", ())),
    )


class MongoWebhookRepository:
    """``webhooks`` (one document per endpoint) and ``webhook_deliveries``."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._webhooks = db["webhooks"]
        self._deliveries = db["webhook_deliveries"]

    async def create_indexes(self) -> None:
        await self._webhooks.create_index([("org_id", ASCENDING), ("created_at", ASCENDING)])
        await self._deliveries.create_index(
            [("org_id", ASCENDING), ("webhook_id", ASCENDING), ("created_at", DESCENDING)]
        )
        await self._deliveries.create_index([("status", ASCENDING), ("next_attempt_at", ASCENDING)])

    async def add_webhook(self, webhook: Webhook) -> None:
        await self._webhooks.insert_one({**_webhook_doc(webhook), **HEALTH})

    async def save_webhook(self, webhook: Webhook) -> None:
        """The whole document (``$set`` would round numbers on the local store, docs/store.md); the
        health counters go back as read, so an attempt finishing in between loses at most its count."""
        doc = {**_webhook_doc(webhook), **_health_doc(webhook)}
        await self._webhooks.replace_one({"_id": doc.pop("_id"), "org_id": webhook.org_id}, doc)

    async def record_health(self, org_id: str, webhook_id: str, ok: bool, at: float) -> Webhook | None:
        key = {"_id": webhook_id, "org_id": org_id}
        if ok:
            doc = await self._webhooks.find_one_and_update(
                key, {"$set": HEALTH}, return_document=ReturnDocument.AFTER
            )
            return _webhook(doc) if doc else None
        # the first failure since a success starts the clock (a number filter: docs/store.md)
        first = {**key, "failing_since": {"$lte": 0}}
        await self._webhooks.update_one(first, {"$set": {"failing_since": at}})
        doc = await self._webhooks.find_one_and_update(
            key, {"$inc": {"failed_attempts": 1}}, return_document=ReturnDocument.AFTER
        )
        return _webhook(doc) if doc else None

    async def disable(self, org_id: str, webhook_id: str, reason: str, at: float) -> bool:
        result = await self._webhooks.update_one(
            {"_id": webhook_id, "org_id": org_id, "enabled": True},
            {"$set": {"enabled": False, "disabled_reason": reason, "disabled_at": at}},
        )
        return result.modified_count == 1

    async def get_webhook(self, org_id: str, webhook_id: str) -> Webhook | None:
        doc = await self._webhooks.find_one({"_id": webhook_id, "org_id": org_id})
        return _webhook(doc) if doc else None

    async def list_webhooks(self, org_id: str, offset: int, limit: int) -> list[Webhook]:
        cursor = (
            self._webhooks.find({"org_id": org_id})
            .sort([("created_at", ASCENDING), ("_id", ASCENDING)])
            .skip(offset)
            .limit(limit)
        )
        return [_webhook(doc) async for doc in cursor]

    async def subscribers(self, org_id: str, event_type: str) -> list[Webhook]:
        cursor = self._webhooks.find({"org_id": org_id, "enabled": True})
        return [hook async for doc in cursor if (hook := _webhook(doc)).wants(event_type)]

    async def delete_webhook(self, org_id: str, webhook_id: str) -> bool:
        result = await self._webhooks.delete_one({"_id": webhook_id, "org_id": org_id})
        return result.deleted_count == 1

    async def add_delivery(self, delivery: Delivery) -> bool:
        """Queue it; False when this (webhook, event) was queued before."""
        try:
            await self._deliveries.insert_one(
                {
                    "_id": delivery.delivery_id,
                    "webhook_id": delivery.webhook_id,
                    "org_id": delivery.org_id,
                    "event_id": delivery.event_id,
                    "event_type": delivery.event_type,
                    "body": delivery.body.decode(),
                    "created_at": delivery.created_at,
                    "lease_until": 0.0,
                    **_progress(delivery),
                }
            )
        except DuplicateKeyError:
            return False
        return True

    async def get_delivery(self, org_id: str, webhook_id: str, delivery_id: str) -> Delivery | None:
        doc = await self._deliveries.find_one(
            {"_id": delivery_id, "org_id": org_id, "webhook_id": webhook_id}
        )
        return _delivery(doc) if doc else None

    async def list_deliveries(self, org_id: str, webhook_id: str, offset: int, limit: int) -> list[Delivery]:
        cursor = (
            self._deliveries.find({"org_id": org_id, "webhook_id": webhook_id})
            .sort([("created_at", DESCENDING), ("_id", ASCENDING)])
            .skip(offset)
            .limit(limit)
        )
        return [_delivery(doc) async for doc in cursor]

    async def claim_due(
        self, now: float, lease_seconds: float, limit: int, share: Share | None = None
    ) -> list[Delivery]:
        """Up to ``limit`` pending deliveries whose time has come, each leased to this process.

        With a ``share``, no webhook gets more than its room. One query finds the candidates
        (webhooks with no room left are not even read); each is then leased by id (another
        process may win it).
        """
        share = share or Share()
        due: dict[str, Any] = {
            "status": DeliveryStatus.PENDING.value,
            "next_attempt_at": {"$lte": now},
            "lease_until": {"$lte": now},
        }
        full = share.full()
        query = {**due, "webhook_id": {"$nin": full}} if full else due
        candidates = self._deliveries.find(query, {"_id": 1, "webhook_id": 1}).sort(
            [("next_attempt_at", ASCENDING)]
        )
        taken: Counter[str] = Counter()
        claimed: list[Delivery] = []
        async for candidate in candidates.limit(limit * CANDIDATES_PER_SLOT):
            hook = candidate["webhook_id"]
            if taken[hook] >= share.room(hook):
                continue
            doc = await self._deliveries.find_one_and_update(
                {"_id": candidate["_id"], **due},
                {"$set": {"lease_until": now + lease_seconds}},
                return_document=ReturnDocument.AFTER,
            )
            if doc is not None:
                taken[hook] += 1
                claimed.append(_delivery(doc))
                if len(claimed) == limit:
                    break
        return claimed

    async def save_progress(self, delivery: Delivery) -> None:
        """The attempt's outcome; the lease is released."""
        await self._deliveries.update_one(
            {"_id": delivery.delivery_id}, {"$set": {**_progress(delivery), "lease_until": 0.0}}
        )

    async def requeue(self, org_id: str, webhook_id: str, delivery_id: str, now: float) -> Delivery | None:
        doc = await self._deliveries.find_one_and_update(
            {"_id": delivery_id, "org_id": org_id, "webhook_id": webhook_id},
            {
                "$set": {
                    "status": DeliveryStatus.PENDING.value,
                    "attempts": 0,
                    "next_attempt_at": now,
                    "lease_until": 0.0,
                }
            },
            return_document=ReturnDocument.AFTER,
        )
        return _delivery(doc) if doc else None
