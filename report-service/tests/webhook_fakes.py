"""In-memory webhook storage, settings and a name table for webhook tests."""

from __future__ import annotations

import ipaddress
from collections import Counter
from dataclasses import replace

from rampart.lib.addresses import IPAddress
from rampart_report.settings import ReportSettings
from rampart_report.webhooks.domain import Delivery, DeliveryStatus, Webhook
from rampart_report.webhooks.repository import Share

KEY = "00" * 32


def settings(**overrides: object) -> ReportSettings:
    values: dict[str, object] = {
        "mongodb_url": "mongodb://127.0.0.1:1",
        "nats_url": "nats://127.0.0.1:1",
        "webhook_secret_key": KEY,
        "webhook_allow_networks": "127.0.0.0/8,::1/128",
        "webhook_retry_base_seconds": 0.01,
        "webhook_retry_cap_seconds": 0.05,
        "webhook_max_attempts": 5,
        "webhook_timeout_seconds": 2.0,
        "webhook_connect_timeout_seconds": 1.0,
        "webhook_poll_seconds": 0.05,
        "webhook_response_cap_bytes": 64,
        **overrides,
    }
    return ReportSettings(**values)  # type: ignore[arg-type]


class FakeWebhookRepository:
    """The repository's contract in memory (leases included)."""

    def __init__(self) -> None:
        self.webhooks: dict[str, Webhook] = {}
        self.deliveries: dict[str, Delivery] = {}
        self.leases: dict[str, float] = {}

    async def add_webhook(self, webhook: Webhook) -> None:
        self.webhooks[webhook.webhook_id] = webhook

    async def save_webhook(self, webhook: Webhook) -> None:
        self.webhooks[webhook.webhook_id] = webhook

    async def record_health(self, org_id: str, webhook_id: str, ok: bool, at: float) -> Webhook | None:
        found = await self.get_webhook(org_id, webhook_id)
        if found is None:
            return None
        if ok:
            found = replace(found, failing_since=0.0, failed_attempts=0)
        else:
            since = found.failing_since if found.failing_since > 0 else at
            found = replace(found, failing_since=since, failed_attempts=found.failed_attempts + 1)
        self.webhooks[webhook_id] = found
        return found

    async def disable(self, org_id: str, webhook_id: str, reason: str, at: float) -> bool:
        found = await self.get_webhook(org_id, webhook_id)
        if found is None or not found.enabled:
            return False
        self.webhooks[webhook_id] = replace(found, enabled=False, disabled_reason=reason, disabled_at=at)
        return True

    async def get_webhook(self, org_id: str, webhook_id: str) -> Webhook | None:
        found = self.webhooks.get(webhook_id)
        return found if found and found.org_id == org_id else None

    async def list_webhooks(self, org_id: str, offset: int, limit: int) -> list[Webhook]:
        mine = [w for w in self.webhooks.values() if w.org_id == org_id]
        return mine[offset : offset + limit]

    async def subscribers(self, org_id: str, event_type: str) -> list[Webhook]:
        return [w for w in self.webhooks.values() if w.org_id == org_id and w.wants(event_type)]

    async def delete_webhook(self, org_id: str, webhook_id: str) -> bool:
        if await self.get_webhook(org_id, webhook_id) is None:
            return False
        del self.webhooks[webhook_id]
        return True

    async def add_delivery(self, delivery: Delivery) -> bool:
        if delivery.delivery_id in self.deliveries:
            return False
        self.deliveries[delivery.delivery_id] = delivery
        return True

    async def get_delivery(self, org_id: str, webhook_id: str, delivery_id: str) -> Delivery | None:
        found = self.deliveries.get(delivery_id)
        return found if found and (found.org_id, found.webhook_id) == (org_id, webhook_id) else None

    async def list_deliveries(self, org_id: str, webhook_id: str, offset: int, limit: int) -> list[Delivery]:
        mine = [d for d in self.deliveries.values() if (d.org_id, d.webhook_id) == (org_id, webhook_id)]
        return sorted(mine, key=lambda d: -d.created_at)[offset : offset + limit]

    async def claim_due(
        self, now: float, lease_seconds: float, limit: int, share: Share | None = None
    ) -> list[Delivery]:
        share = share or Share()
        taken: Counter[str] = Counter()
        claimed = []
        for d in sorted(self.deliveries.values(), key=lambda d: d.next_attempt_at):
            due = d.status is DeliveryStatus.PENDING and d.next_attempt_at <= now
            if len(claimed) == limit or not due or self.leases.get(d.delivery_id, 0.0) > now:
                continue
            if taken[d.webhook_id] < share.room(d.webhook_id):
                taken[d.webhook_id] += 1
                self.leases[d.delivery_id] = now + lease_seconds
                claimed.append(d)
        return claimed

    async def save_progress(self, delivery: Delivery) -> None:
        self.deliveries[delivery.delivery_id] = delivery
        self.leases[delivery.delivery_id] = 0.0

    async def requeue(self, org_id: str, webhook_id: str, delivery_id: str, now: float) -> Delivery | None:
        found = await self.get_delivery(org_id, webhook_id, delivery_id)
        if found is None:
            return None
        again = replace(found, status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=now)
        self.deliveries[delivery_id] = again
        self.leases[delivery_id] = 0.0
        return again


def resolver_of(table: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    """A resolver answering from ``table`` (names the test invents; nothing leaves the machine)."""

    async def resolve(host: str, port: int) -> list[IPAddress]:
        if host not in table:
            raise OSError(f"{host} does not resolve")
        return [ipaddress.ip_address(a) for a in table[host]]

    return resolve
