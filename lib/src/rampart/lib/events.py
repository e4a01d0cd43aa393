"""JetStream plumbing: streams, publishing with Nats-Msg-Id, durable pull consumers."""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import nats
import nats.errors
import nats.js.errors
import structlog
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)

from rampart.lib.catalogue import subjects
from rampart.lib.ids import new_request_id
from rampart.lib.logging import bind_request
from rampart.lib.metrics import EVENTS_CONSUMED, EVENTS_PUBLISHED
from rampart.lib.tls import TlsFiles

log = structlog.get_logger(__name__)

MSG_ID_HEADER = "Nats-Msg-Id"
REQUEST_ID_HEADER = "X-Request-ID"
DAY = 24 * 3600.0


@dataclass(frozen=True)
class StreamSpec:
    """A JetStream stream the platform relies on."""

    name: str
    subjects: tuple[str, ...]
    work_queue: bool = False
    max_age_seconds: float = 30 * DAY
    duplicate_window_seconds: float = 300.0

    def config(self) -> StreamConfig:
        return StreamConfig(
            name=self.name,
            subjects=list(self.subjects),
            retention=RetentionPolicy.WORK_QUEUE if self.work_queue else RetentionPolicy.LIMITS,
            storage=StorageType.FILE,
            max_age=self.max_age_seconds,
            duplicate_window=self.duplicate_window_seconds,
        )


SCAN_EVENTS = StreamSpec(subjects.SCAN_EVENTS_STREAM, (subjects.SCAN_EVENTS,))
SCAN_JOBS = StreamSpec(subjects.SCAN_JOBS_STREAM, (subjects.SCAN_JOBS,), work_queue=True, max_age_seconds=DAY)
AUTH_EVENTS = StreamSpec(subjects.AUTH_EVENTS_STREAM, (subjects.AUTH_EVENTS,), max_age_seconds=DAY)
INCIDENT_EVENTS = StreamSpec(subjects.INCIDENT_EVENTS_STREAM, (subjects.INCIDENT_EVENTS,))
THREAT_EVENTS = StreamSpec(subjects.THREAT_EVENTS_STREAM, (subjects.THREAT_EVENTS,), max_age_seconds=7 * DAY)
COMPLIANCE_EVENTS = StreamSpec(subjects.COMPLIANCE_EVENTS_STREAM, (subjects.COMPLIANCE_EVENTS,))
WEBHOOK_EVENTS = StreamSpec(
    subjects.WEBHOOK_EVENTS_STREAM, (subjects.WEBHOOK_EVENTS,), max_age_seconds=30 * DAY
)
REPORT_JOBS = StreamSpec(
    subjects.REPORT_JOBS_STREAM, (subjects.REPORT_JOBS,), work_queue=True, max_age_seconds=DAY
)
REPORT_EVENTS = StreamSpec(subjects.REPORT_EVENTS_STREAM, (subjects.REPORT_EVENTS,), max_age_seconds=7 * DAY)
CHANGE_EVENTS = StreamSpec(subjects.CHANGE_EVENTS_STREAM, (subjects.CHANGE_EVENTS,), max_age_seconds=30 * DAY)
STREAMS = (
    SCAN_EVENTS,
    SCAN_JOBS,
    AUTH_EVENTS,
    INCIDENT_EVENTS,
    THREAT_EVENTS,
    COMPLIANCE_EVENTS,
    WEBHOOK_EVENTS,
    REPORT_JOBS,
    REPORT_EVENTS,
    CHANGE_EVENTS,
)


async def connect_nats(
    url: str,
    name: str,
    deadline_seconds: float = 30.0,
    on_reconnect: Callable[[], Awaitable[None]] | None = None,
    tls: TlsFiles | None = None,
) -> NATS:
    """Connect with endless reconnects; retry the first connection until the deadline.

    With ``tls`` the client verifies the broker and presents its certificate (the broker
    maps it to the identity's user) and uses the identity's own reply subjects.
    """
    secure: dict[str, Any] = {}
    if tls is not None:
        secure = tls.nats_options()

    async def on_error(error: Exception) -> None:
        log.warning("nats error", error=str(error))

    async def on_disconnect() -> None:
        log.warning("nats disconnected")

    async def reconnected() -> None:
        log.info("nats reconnected")
        if on_reconnect is not None:
            await on_reconnect()

    loop = asyncio.get_running_loop()
    give_up = loop.time() + deadline_seconds
    while True:
        try:
            return await nats.connect(
                servers=[url],
                name=name,
                connect_timeout=2,
                allow_reconnect=True,
                max_reconnect_attempts=-1,
                reconnect_time_wait=0.5,
                error_cb=on_error,
                disconnected_cb=on_disconnect,
                reconnected_cb=reconnected,
                **secure,
            )
        except (OSError, nats.errors.NoServersError, TimeoutError) as error:
            if loop.time() > give_up:
                raise
            log.info("waiting for nats", error=str(error))
            await asyncio.sleep(0.5)


async def ensure_streams(js: JetStreamContext, specs: tuple[StreamSpec, ...] = STREAMS) -> None:
    """Create or update each stream; safe to run from every service at every start."""
    for spec in specs:
        try:
            await js.stream_info(spec.name)
        except nats.js.errors.NotFoundError:
            try:
                await js.add_stream(spec.config())
                continue
            except nats.js.errors.BadRequestError:
                pass  # another service created it first
        await js.update_stream(spec.config())


# ---- bounded broker calls ------------------------------------------------------------------------
# nats-py can leave an await pending across a reconnect, and parts of it swallow a cancellation
# (``Client._flush_pending`` catches CancelledError), so a plain timeout around a call is not
# always honoured. ``bounded`` runs the call in a task of its own and stops waiting at the limit.
T = TypeVar("T")
_ABANDONED: set[asyncio.Future[Any]] = set()
BROKER_CALL_SECONDS = 5.0  # an ack, nak or in_progress: a small publish; more means a broken link


def _forget(task: asyncio.Future[Any]) -> None:
    _ABANDONED.discard(task)
    if not task.cancelled():
        task.exception()  # retrieved: no "exception was never retrieved" at exit


async def bounded(call: Awaitable[T], seconds: float = BROKER_CALL_SECONDS) -> T:
    """Await a broker call for at most ``seconds``; then ``nats.errors.TimeoutError``, whatever it does."""
    task = asyncio.ensure_future(call)
    try:
        done, _ = await asyncio.wait({task}, timeout=seconds)
    except asyncio.CancelledError:
        task.cancel()
        raise
    if not done:
        task.cancel()  # it may ignore it: kept referenced until it ends, if ever
        _ABANDONED.add(task)
        task.add_done_callback(_forget)
        raise nats.errors.TimeoutError
    return task.result()


# ---- publishing ----------------------------------------------------------------------------------
class EventPublisher:
    """Publishes to JetStream; the message id lets the broker drop duplicates."""

    def __init__(self, js: JetStreamContext, timeout: float = 2.0) -> None:
        self._js = js
        self._timeout = timeout

    async def publish(self, subject: str, payload: bytes, msg_id: str, request_id: str | None = None) -> bool:
        """Publish once; returns False when the broker reported it as a duplicate."""
        headers = {MSG_ID_HEADER: msg_id}
        if request_id:
            headers[REQUEST_ID_HEADER] = request_id
        publish = self._js.publish(subject, payload, timeout=self._timeout, headers=headers)
        ack = await bounded(publish, self._timeout + 1.0)  # a PubAck that never comes ends too
        EVENTS_PUBLISHED.labels(ack.stream).inc()
        return not ack.duplicate


class Outcome(enum.Enum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"


class PoisonMessage(Exception):
    """A message that can never be applied (undecodable); it is terminated, not retried."""


Handler = Callable[[Msg], Awaitable[Outcome]]


@dataclass(frozen=True)
class ConsumerSpec:
    stream: StreamSpec
    durable: str
    filter_subject: str
    max_deliver: int = 50
    ack_wait_seconds: float = 30.0
    batch: int = 64
    max_ack_pending: int | None = None  # None: the broker's default


def retry_delay(attempt: int) -> float:
    """Back-off before redelivery: 0.5 s doubling per attempt, capped at 30 s."""
    return float(min(0.5 * 2 ** max(attempt - 1, 0), 30.0))


class PullSource:
    """A durable pull subscription, made on first use and kept through broker restarts."""

    def __init__(self, js: JetStreamContext, spec: ConsumerSpec) -> None:
        self._js = js
        self._spec = spec
        self._subscription: JetStreamContext.PullSubscription | None = None

    async def _subscribe(self) -> JetStreamContext.PullSubscription:
        config = ConsumerConfig(
            durable_name=self._spec.durable,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            filter_subject=self._spec.filter_subject,
            max_deliver=self._spec.max_deliver,
            ack_wait=self._spec.ack_wait_seconds,
            max_ack_pending=self._spec.max_ack_pending,
        )
        return await self._js.pull_subscribe(
            self._spec.filter_subject,
            durable=self._spec.durable,
            stream=self._spec.stream.name,
            config=config,
        )

    @property
    def buffered(self) -> int:
        """Deliveries already in the local buffer (a pull request can outlive its fetch)."""
        return 0 if self._subscription is None else int(self._subscription.pending_msgs)

    async def fetch(self, batch: int, wait: float = 1.0) -> list[Msg]:
        """Up to ``batch`` messages; none when there is nothing within ``wait`` seconds or no broker."""
        try:
            if self._subscription is None:
                self._subscription = await bounded(self._subscribe(), 2 * BROKER_CALL_SECONDS)
                log.info("consumer ready", durable=self._spec.durable)
            return await bounded(self._subscription.fetch(batch, timeout=wait), wait + BROKER_CALL_SECONDS)
        except (nats.errors.TimeoutError, TimeoutError):
            return []  # nothing to fetch within the timeout
        except (nats.errors.Error, OSError) as error:
            log.warning("consumer waiting for broker", durable=self._spec.durable, error=str(error))
            await asyncio.sleep(0.5)
            return []


class DurableConsumer:
    """A durable pull consumer with explicit ack and nak-with-backoff on failure."""

    def __init__(self, js: JetStreamContext, spec: ConsumerSpec, handler: Handler) -> None:
        self._source = PullSource(js, spec)
        self._spec = spec
        self._handler = handler

    async def run(self) -> None:
        """Pull and handle messages until cancelled; survives broker restarts."""
        while True:
            for message in await self._source.fetch(self._spec.batch):
                try:
                    await self.handle(message)
                except (nats.errors.Error, OSError) as error:
                    # The ack did not reach the broker: it redelivers after ack_wait and the
                    # idempotent handler applies nothing twice.
                    log.warning("ack lost", durable=self._spec.durable, error=str(error))

    async def handle(self, message: Msg) -> None:
        headers = message.headers or {}
        bind_request(headers.get(REQUEST_ID_HEADER) or new_request_id())
        durable = self._spec.durable
        try:
            outcome = await self._handler(message)
        except PoisonMessage as error:
            log.error("event dropped", durable=durable, subject=message.subject, reason=str(error))
            EVENTS_CONSUMED.labels(durable, "dropped").inc()
            await bounded(message.term())
            return
        except Exception:
            attempt = message.metadata.num_delivered or 1
            log.warning("event failed, will retry", durable=durable, attempt=attempt, exc_info=True)
            EVENTS_CONSUMED.labels(durable, "retried").inc()
            await bounded(message.nak(delay=retry_delay(attempt)))
            return
        await bounded(message.ack())
        EVENTS_CONSUMED.labels(durable, outcome.value).inc()
        log.info("event handled", durable=durable, subject=message.subject, outcome=outcome.value)
