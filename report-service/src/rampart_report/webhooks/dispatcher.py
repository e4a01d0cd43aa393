"""Sends queued deliveries: claim what is due, post it, record the attempt, schedule a retry.

Deliveries live in the store, so a restart loses nothing: pending ones are claimed again by
whichever process runs next, and one claimed by a process that died is claimed again when its
lease runs out (at least once; ``X-Rampart-Delivery`` lets the receiver drop the duplicate).
Each delivery is sent in its own task, up to ``concurrency`` at a time and ``per_endpoint`` per
webhook, so a slow endpoint holds at most its share of the slots (each for at most the total
timeout) and never delays another's deliveries.

Retried: connection errors, timeouts, a name that does not resolve, 408, 429 and 5xx, after an
exponential back-off with jitter (``RetrySchedule``) that honours ``Retry-After``, for up to
24 hours from the first attempt (``window_seconds``); after that, or ``max_attempts``, the
delivery is ``failed``. Not retried: another 4xx, a redirect (never followed), a URL the policy
now refuses.

Each attempt that reaches (or tries to reach) the endpoint also counts for its health
(``HealthPolicy``): an endpoint whose every attempt failed for 24 hours is switched off, with a
reason, and ``on_disabled`` announces it (``webhook.disabled``).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

import structlog

from rampart_report.webhooks import signing
from rampart_report.webhooks.domain import (
    MAX_ATTEMPT_LOG,
    TEST_EVENT,
    Attempt,
    Delivery,
    DeliveryStatus,
    HealthPolicy,
    UrlNotAllowed,
    UrlUnresolvable,
    Webhook,
)
from rampart_report.webhooks.repository import Share, WebhookRepository
from rampart_report.webhooks.secretbox import SecretBox, SecretKeyError
from rampart_report.webhooks.sender import Answer, Sender
from rampart_report.webhooks.urlguard import UrlPolicy

log = structlog.get_logger(__name__)

RETRIED_STATUS = frozenset({408, 429})
RESOLVE_SECONDS = 10.0  # a name that takes longer counts as not resolving (retried)


@dataclass(frozen=True)
class RetrySchedule:
    """Attempt n waits base * 2^(n-1), capped, times a random factor in [0.5, 1) (jitter); no retry
    is scheduled past ``window_seconds`` after the run's first attempt. The defaults wait about
    30 s, 1, 2, 4, 8, 16, 32 min, 1 h 4 min, 2 h 8 min, then 4 h (each times 0.5 to 1) until 24 h have
    passed, the last one at the 24 h mark: 15 to 21 attempts (docs/webhooks.md)."""

    base_seconds: float = 30.0
    cap_seconds: float = 4 * 3600.0
    max_attempts: int = 30
    window_seconds: float = 24 * 3600.0
    random: Callable[[], float] = random.random

    def next_at(self, attempts: int, first_at: float, now: float, retry_after: float | None) -> float | None:
        """When to try again after ``attempts`` failed ones, or None: give up. The last retry falls
        at the end of the window, so a delivery that never got through was tried for 24 hours."""
        end = first_at + self.window_seconds
        if attempts >= self.max_attempts or now >= end:
            return None
        return min(now + self.delay(attempts, retry_after), end)

    def delay(self, attempts: int, retry_after: float | None = None) -> float:
        backoff = min(self.cap_seconds, self.base_seconds * 2.0 ** max(attempts - 1, 0))
        delay = float(backoff * (0.5 + self.random() / 2))
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.cap_seconds))
        return delay


def retried(answer: Answer) -> bool:
    return answer.status == 0 or answer.status >= 500 or answer.status in RETRIED_STATUS


class Dispatcher:
    """The delivery loop of one process; ``wake()`` makes it look for due deliveries at once."""

    def __init__(
        self,
        repository: WebhookRepository,
        box: SecretBox,
        policy: UrlPolicy,
        sender: Sender,
        schedule: RetrySchedule,
        lease_seconds: float,
        concurrency: int = 16,
        per_endpoint: int = 2,
        poll_seconds: float = 1.0,
        clock: Callable[[], float] = time.time,
        health: HealthPolicy | None = None,
        on_disabled: Callable[[Webhook], Awaitable[None]] | None = None,
    ) -> None:
        self._health = health or HealthPolicy()
        self._on_disabled = on_disabled
        self._repository = repository
        self._box = box
        self._policy = policy
        self._sender = sender
        self._schedule = schedule
        self._lease = lease_seconds
        self._concurrency = concurrency
        self._per_endpoint = per_endpoint
        self._in_flight: Counter[str] = Counter()
        self._poll = poll_seconds
        self._clock = clock
        self._wake = asyncio.Event()
        self._running: set[asyncio.Task[None]] = set()

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        """Until cancelled: claim due deliveries into free slots, then wait for a wake-up or the poll."""
        try:
            while True:
                self._wake.clear()
                try:
                    await self._fill_slots()
                except Exception:  # the store is away: the deliveries wait there, try again
                    log.warning("webhook dispatcher cannot claim deliveries", exc_info=True)
                # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancel that
                # arrives as the wake-up completes, and the dispatcher would never stop
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._poll):
                        await self._wake.wait()
        finally:
            for task in list(self._running):
                task.cancel()
            await asyncio.gather(*self._running, return_exceptions=True)

    async def _fill_slots(self) -> None:
        """Claim due deliveries into the free slots, each endpoint up to its share."""
        free = self._concurrency - len(self._running)
        if free <= 0:
            return
        share = Share(dict(self._in_flight), self._per_endpoint)
        for delivery in await self._repository.claim_due(self._clock(), self._lease, free, share):
            self._in_flight[delivery.webhook_id] += 1
            task = asyncio.create_task(self._attempt_in_slot(delivery))
            self._running.add(task)
            task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        self._wake.set()  # a slot is free: look again
        if not task.cancelled() and task.exception() is not None:
            log.error("webhook attempt crashed", exc_info=task.exception())

    async def _attempt_in_slot(self, delivery: Delivery) -> None:
        try:
            await self.attempt(delivery)
        finally:
            self._in_flight[delivery.webhook_id] -= 1
            if self._in_flight[delivery.webhook_id] <= 0:
                del self._in_flight[delivery.webhook_id]

    async def attempt(self, delivery: Delivery) -> Delivery:
        """One attempt of a claimed delivery; its outcome is saved (and returned)."""
        started = self._clock()
        number = delivery.attempts + 1
        answer, final_error = await self._send(delivery, int(started))
        if final_error:
            outcome = Attempt(number, started, 0, 0, error=final_error)
            return await self._save(delivery, outcome, DeliveryStatus.FAILED, 0.0)
        error = answer.error
        if 300 <= answer.status < 400:
            error = "redirect not followed"
        outcome = Attempt(number, started, answer.status, answer.latency_ms, error, answer.body)
        delivered = 200 <= answer.status < 300
        if delivery.event_type != TEST_EVENT:
            await self._note_health(delivery, delivered)
        if delivered:
            return await self._save(delivery, outcome, DeliveryStatus.DELIVERED, 0.0)
        if retried(answer):
            # the run's first attempt (a redelivery starts a new run at attempt 1)
            first = started
            if number > 1:
                first = next((a.at for a in reversed(delivery.log) if a.attempt == 1), started)
            next_at = self._schedule.next_at(number, first, self._clock(), answer.retry_after)
            if next_at is not None:
                return await self._save(delivery, outcome, DeliveryStatus.PENDING, next_at)
        return await self._save(delivery, outcome, DeliveryStatus.FAILED, 0.0)

    async def _note_health(self, delivery: Delivery, ok: bool) -> None:
        """Count the attempt for the endpoint; switch it off when it has failed for too long."""
        now = self._clock()
        try:
            webhook = await self._repository.record_health(delivery.org_id, delivery.webhook_id, ok, now)
            if webhook is None or ok or not self._health.should_disable(webhook, now):
                return
            reason = self._health.reason(webhook, now)
            if await self._repository.disable(webhook.org_id, webhook.webhook_id, reason, now):
                log.warning("webhook disabled", webhook_id=webhook.webhook_id, reason=reason)
                if self._on_disabled is not None:
                    off = replace(webhook, enabled=False, disabled_reason=reason, disabled_at=now)
                    await self._on_disabled(off)
        except Exception:  # the attempt's outcome is still saved; health catches up on the next one
            log.warning("webhook health not recorded", webhook_id=delivery.webhook_id, exc_info=True)

    async def _send(self, delivery: Delivery, timestamp: int) -> tuple[Answer, str]:
        """The answer, or a reason the delivery can never be sent (then it is not retried)."""
        nothing = Answer(0, 0)
        webhook = await self._repository.get_webhook(delivery.org_id, delivery.webhook_id)
        if webhook is None:
            return nothing, "webhook deleted"
        if not webhook.enabled and delivery.event_type != TEST_EVENT:
            return nothing, "webhook disabled"
        try:
            async with asyncio.timeout(RESOLVE_SECONDS):
                destination = await self._policy.check(webhook.url)
        except (UrlUnresolvable, TimeoutError):
            return Answer(0, 0, error="the host name does not resolve (retried)"), ""
        except UrlNotAllowed as refusal:
            return nothing, refusal.message
        try:
            secret = self._box.open(webhook.secret, webhook.webhook_id)
            older = webhook.previous_valid(self._clock())
            previous = self._box.open(older, webhook.webhook_id) if older else None
        except SecretKeyError as error:
            log.error("webhook secret unreadable", webhook_id=webhook.webhook_id, error=str(error))
            return nothing, "the signing secret cannot be read"
        headers = {
            signing.DELIVERY: delivery.delivery_id,
            signing.EVENT: delivery.event_type,
            **signing.signature_headers(delivery.body, secret, timestamp, previous),
        }
        return await self._sender.post(destination, delivery.body, headers), ""

    async def _save(
        self, delivery: Delivery, attempt: Attempt, status: DeliveryStatus, next_at: float
    ) -> Delivery:
        updated = replace(
            delivery,
            status=status,
            attempts=attempt.attempt,
            next_attempt_at=next_at,
            log=(*delivery.log, attempt)[-MAX_ATTEMPT_LOG:],
        )
        await self._repository.save_progress(updated)
        log.info(
            "webhook attempt",
            delivery_id=delivery.delivery_id,
            webhook_id=delivery.webhook_id,
            attempt=attempt.attempt,
            status_code=attempt.status_code,
            outcome=status.value,
            error=attempt.error,
        )
        return updated
