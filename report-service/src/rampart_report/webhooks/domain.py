"""Webhooks and their deliveries: the endpoints an organisation registers and what was sent to them."""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass, field, replace
from datetime import datetime

from rampart.lib.catalogue.webhooks import NOT_PUBLISHED, WEBHOOK_EVENTS
from rampart.lib.errors import InvalidArgument, NotFound

# The catalogue of webhook events is rampart.lib.catalogue.webhooks (the gateway reads it too).
EVENT_TYPES = tuple(WEBHOOK_EVENTS)
TEST_EVENT = "webhook.test"
MAX_EVENTS = len(EVENT_TYPES)
MAX_ATTEMPT_LOG = 20  # attempts kept per delivery (the oldest are dropped)


class WebhookNotFound(NotFound):
    """No such webhook in the caller's organisation (another tenant's is not found either)."""

    public_code = "WEBHOOK_NOT_FOUND"


class DeliveryNotFound(NotFound):
    public_code = "WEBHOOK_DELIVERY_NOT_FOUND"


class UrlNotAllowed(InvalidArgument):
    """The URL is not one webhooks may call (scheme, credentials, port or address)."""

    public_code = "WEBHOOK_URL_NOT_ALLOWED"


class UrlUnresolvable(UrlNotAllowed):
    """The host name did not resolve: refused at creation, retried at delivery (DNS may be back)."""


def check_events(events: tuple[str, ...]) -> tuple[str, ...]:
    """The subscribed events, deduplicated in order; unknown names are refused."""
    if not events:
        raise InvalidArgument("give at least one event", field="events")
    unknown = [event for event in events if event not in EVENT_TYPES]
    if unknown and unknown[0] in NOT_PUBLISHED:
        raise InvalidArgument(
            f"event {unknown[0]!r} is not available: {NOT_PUBLISHED[unknown[0]]}", field="events"
        )
    if unknown:
        raise InvalidArgument(
            f"unknown event {unknown[0]!r}; known: {', '.join(EVENT_TYPES)}", field="events"
        )
    return tuple(dict.fromkeys(events))


@dataclass(frozen=True)
class SealedSecret:
    """A signing secret encrypted at rest (``SecretBox``); never logged, never returned after creation."""

    sealed: str


@dataclass(frozen=True)
class Webhook:
    """An organisation's endpoint and the events it receives."""

    webhook_id: str
    org_id: str
    user_id: str
    url: str
    events: tuple[str, ...]
    secret: SealedSecret
    description: str = ""
    enabled: bool = True
    created_at: float = 0.0
    updated_at: float = 0.0
    previous_secret: SealedSecret | None = None
    previous_expires_at: float = 0.0  # epoch seconds; the previous secret signs until then
    disabled_reason: str = ""  # set when switched off for failing too long (HealthPolicy)
    disabled_at: float = 0.0
    failing_since: float = 0.0  # the first failed attempt since the last success; 0 when healthy
    failed_attempts: int = 0  # failed attempts since the last success

    def wants(self, event_type: str) -> bool:
        return self.enabled and event_type in self.events

    def previous_valid(self, now: float) -> SealedSecret | None:
        """The previous secret while its grace period lasts."""
        return self.previous_secret if self.previous_secret and now < self.previous_expires_at else None

    def rotated(self, secret: SealedSecret, now: float, grace_seconds: float) -> Webhook:
        return replace(
            self,
            secret=secret,
            previous_secret=self.secret,
            previous_expires_at=now + grace_seconds,
            updated_at=now,
        )


@dataclass(frozen=True)
class HealthPolicy:
    """When an endpoint is switched off: every attempt failed for ``disable_after_seconds`` (24 h by
    default, the length of the retry window) and there were at least ``min_failed_attempts``. One
    successful attempt resets the count; re-enabling it (PATCH enabled=true) clears the flag."""

    disable_after_seconds: float = 24 * 3600.0
    min_failed_attempts: int = 10

    def should_disable(self, webhook: Webhook, now: float) -> bool:
        return (
            webhook.enabled
            and webhook.failing_since > 0
            and now - webhook.failing_since >= self.disable_after_seconds
            and webhook.failed_attempts >= self.min_failed_attempts
        )

    def reason(self, webhook: Webhook, now: float) -> str:
        hours = (now - webhook.failing_since) / 3600
        return f"every delivery attempt failed for {hours:.1f} h ({webhook.failed_attempts} attempts)"


@dataclass(frozen=True)
class WebhookEvent:
    """One event as webhooks carry it: ``id`` is the source event's id, stable across redeliveries."""

    event_id: str
    type: str
    org_id: str
    created_at: datetime
    data: dict[str, object]


class DeliveryStatus(enum.Enum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


@dataclass(frozen=True)
class Attempt:
    """One HTTP attempt: ``status_code`` 0 when no answer came (``error`` says why)."""

    attempt: int
    at: float
    status_code: int
    latency_ms: int
    error: str = ""
    response_body: str = ""


def delivery_id_for(webhook_id: str, event_id: str) -> str:
    """One delivery per (webhook, event): a redelivered broker event maps to the same id."""
    digest = hashlib.sha256(f"{webhook_id}\0{event_id}".encode()).hexdigest()
    return f"dlv_{digest[:24]}"


@dataclass(frozen=True)
class Delivery:
    """An event on its way to one webhook; the body is fixed when it is queued (retries resend it)."""

    delivery_id: str
    webhook_id: str
    org_id: str
    event_id: str
    event_type: str
    body: bytes
    created_at: float
    status: DeliveryStatus = DeliveryStatus.PENDING
    attempts: int = 0
    next_attempt_at: float = 0.0
    log: tuple[Attempt, ...] = field(default_factory=tuple)

    @property
    def last(self) -> Attempt | None:
        return self.log[-1] if self.log else None
