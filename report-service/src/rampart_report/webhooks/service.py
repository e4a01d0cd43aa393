"""Webhook use cases: manage endpoints, queue events for them, read and replay the delivery log."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from rampart.lib.errors import InvalidArgument
from rampart.lib.events import Outcome
from rampart.lib.ids import iso, new_id, utcnow
from rampart_report.webhooks.domain import (
    TEST_EVENT,
    Delivery,
    DeliveryNotFound,
    Webhook,
    WebhookEvent,
    WebhookNotFound,
    check_events,
    delivery_id_for,
)
from rampart_report.webhooks.repository import WebhookRepository
from rampart_report.webhooks.secretbox import SecretBox, new_secret
from rampart_report.webhooks.urlguard import UrlPolicy

MIN_SECRET = 16
MAX_SECRET = 256
MAX_GRACE_SECONDS = 7 * 24 * 3600


def payload(event: WebhookEvent) -> bytes:
    """The body every receiver gets: ``id``, ``type``, ``created_at``, ``organisation``, ``data``."""
    document = {
        "id": event.event_id,
        "type": event.type,
        "created_at": iso(event.created_at),
        "organisation": event.org_id,
        "data": event.data,
    }
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()


def disabled_event_id(webhook: Webhook) -> str:
    """One per switch-off: the broker and the receivers can drop a repeat."""
    return f"evt_whd_{webhook.webhook_id}_{int(webhook.disabled_at)}"


def disabled_data(webhook: Webhook) -> dict[str, object]:
    return {
        "webhook_id": webhook.webhook_id,
        "url": webhook.url,
        "reason": webhook.disabled_reason,
        "disabled_at": iso(datetime.fromtimestamp(webhook.disabled_at, UTC)),
    }


def _checked_secret(secret: str) -> str:
    if not secret:
        return new_secret()
    if not MIN_SECRET <= len(secret) <= MAX_SECRET or not secret.isprintable():
        raise InvalidArgument(
            f"a secret has {MIN_SECRET} to {MAX_SECRET} printable characters", field="secret"
        )
    return secret


@dataclass(frozen=True)
class Created:
    """A webhook and its raw secret, returned once (create and rotate)."""

    webhook: Webhook
    secret: str


@dataclass(frozen=True)
class Changes:
    url: str | None = None
    events: tuple[str, ...] | None = None
    description: str | None = None
    enabled: bool | None = None


class WebhookService:
    """Endpoints per organisation; every URL passes the policy; secrets are sealed before storage."""

    def __init__(
        self,
        repository: WebhookRepository,
        box: SecretBox,
        policy: UrlPolicy,
        rotation_grace_seconds: float,
        notify: Callable[[], None] = lambda: None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._repository = repository
        self._box = box
        self._policy = policy
        self._grace = rotation_grace_seconds
        self._notify = notify
        self._clock = clock

    async def create(
        self,
        org_id: str,
        user_id: str,
        url: str,
        events: tuple[str, ...],
        secret: str = "",
        description: str = "",
        enabled: bool = True,
    ) -> Created:
        events = check_events(events)
        await self._policy.check(url)
        raw = _checked_secret(secret)
        webhook_id = new_id("whk")
        now = self._clock()
        webhook = Webhook(
            webhook_id=webhook_id,
            org_id=org_id,
            user_id=user_id,
            url=url,
            events=events,
            secret=self._box.seal(raw, webhook_id),
            description=description,
            enabled=enabled,
            created_at=now,
            updated_at=now,
        )
        await self._repository.add_webhook(webhook)
        return Created(webhook, raw)

    async def get(self, org_id: str, webhook_id: str) -> Webhook:
        webhook = await self._repository.get_webhook(org_id, webhook_id)
        if webhook is None:
            raise WebhookNotFound("webhook not found", webhook_id=webhook_id)
        return webhook

    async def page(self, org_id: str, offset: int, limit: int) -> list[Webhook]:
        return await self._repository.list_webhooks(org_id, offset, limit)

    async def update(self, org_id: str, webhook_id: str, changes: Changes) -> Webhook:
        webhook = await self.get(org_id, webhook_id)
        if changes.url is not None:
            await self._policy.check(changes.url)
        if changes.enabled and not webhook.enabled:  # switched on again: a fresh start
            webhook = replace(
                webhook, disabled_reason="", disabled_at=0.0, failing_since=0.0, failed_attempts=0
            )
        updated = replace(
            webhook,
            url=webhook.url if changes.url is None else changes.url,
            events=webhook.events if changes.events is None else check_events(changes.events),
            description=webhook.description if changes.description is None else changes.description,
            enabled=webhook.enabled if changes.enabled is None else changes.enabled,
            updated_at=self._clock(),
        )
        await self._repository.save_webhook(updated)
        return updated

    async def delete(self, org_id: str, webhook_id: str) -> None:
        if not await self._repository.delete_webhook(org_id, webhook_id):
            raise WebhookNotFound("webhook not found", webhook_id=webhook_id)

    async def rotate(
        self, org_id: str, webhook_id: str, secret: str = "", grace_seconds: float = 0
    ) -> Created:
        """A new secret signs from now on; the old one also signs until the grace period ends."""
        if not 0 <= grace_seconds <= MAX_GRACE_SECONDS:
            raise InvalidArgument(f"grace_seconds is 0 to {MAX_GRACE_SECONDS}", field="grace_seconds")
        webhook = await self.get(org_id, webhook_id)
        raw = _checked_secret(secret)
        rotated = webhook.rotated(
            self._box.seal(raw, webhook_id), self._clock(), grace_seconds or self._grace
        )
        await self._repository.save_webhook(rotated)
        return Created(rotated, raw)

    async def test(self, org_id: str, webhook_id: str) -> Delivery:
        """Queue a ``webhook.test`` event for this endpoint alone (enabled or not)."""
        webhook = await self.get(org_id, webhook_id)
        event = WebhookEvent(new_id("evt"), TEST_EVENT, org_id, utcnow(), {"webhook_id": webhook.webhook_id})
        delivery = self._delivery(webhook, event)
        await self._repository.add_delivery(delivery)
        self._notify()
        return delivery

    async def deliveries(self, org_id: str, webhook_id: str, offset: int, limit: int) -> list[Delivery]:
        await self.get(org_id, webhook_id)
        return await self._repository.list_deliveries(org_id, webhook_id, offset, limit)

    async def redeliver(self, org_id: str, webhook_id: str, delivery_id: str) -> Delivery:
        """Send a recorded delivery again, with the same body and ``X-Rampart-Delivery``."""
        await self.get(org_id, webhook_id)
        delivery = await self._repository.requeue(org_id, webhook_id, delivery_id, self._clock())
        if delivery is None:
            raise DeliveryNotFound("delivery not found", delivery_id=delivery_id)
        self._notify()
        return delivery

    async def publish(self, event: WebhookEvent) -> Outcome:
        """Queue the event for every enabled webhook of its organisation subscribed to it.

        Idempotent per (webhook, event id): an event the broker delivers again queues nothing.
        """
        queued = duplicates = 0
        for webhook in await self._repository.subscribers(event.org_id, event.type):
            if await self._repository.add_delivery(self._delivery(webhook, event)):
                queued += 1
            else:
                duplicates += 1
        if queued:
            self._notify()
        return Outcome.DUPLICATE if duplicates and not queued else Outcome.APPLIED

    async def announce_disabled(self, webhook: Webhook) -> None:
        """``webhook.disabled`` to the organisation's other webhooks subscribed to it (the switched-off
        one is not among the subscribers any more); the event id is fixed per switch-off."""
        event = WebhookEvent(
            disabled_event_id(webhook),
            "webhook.disabled",
            webhook.org_id,
            utcnow(),
            disabled_data(webhook),
        )
        await self.publish(event)

    def _delivery(self, webhook: Webhook, event: WebhookEvent) -> Delivery:
        now = self._clock()
        return Delivery(
            delivery_id=delivery_id_for(webhook.webhook_id, event.event_id),
            webhook_id=webhook.webhook_id,
            org_id=webhook.org_id,
            event_id=event.event_id,
            event_type=event.type,
            body=payload(event),
            created_at=now,
            next_attempt_at=now,
        )
