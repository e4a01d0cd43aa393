"""A JetStream work queue: jobs pulled one at a time, up to ``concurrency`` at once, kept alive.

Unlike ``events.DurableConsumer`` (events applied in order, each quickly), a job may run for
minutes: the consumer reports ``in_progress`` while it runs so the broker does not redeliver it,
and a worker that dies stops reporting, so the job goes to another worker after ``ack_wait``.

Pulling one job at a time matters: ``fetch(n)`` returns everything already buffered, and a pull
request can outlive its fetch, so a busy worker hands back (nak, no delay) any delivery that
reached its buffer instead of letting it sit unseen until the broker redelivers it elsewhere
(docs/security/durability.md, item 20).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
from collections.abc import Awaitable, Callable
from typing import Protocol

import nats.errors
import structlog
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from rampart.lib.events import (
    BROKER_CALL_SECONDS,
    ConsumerSpec,
    PoisonMessage,
    PullSource,
    bounded,
    retry_delay,
)

log = structlog.get_logger(__name__)


class Settle(enum.Enum):
    """How a delivery ends once its job returned."""

    ACK = "ack"  # done, or nothing left to do
    # Someone else holds the work: neither ack nor nak. JetStream applies an ack or nak of an old
    # delivery to the current one (nats-server #4786), so the holder's own ack settles it.
    LEAVE = "leave"


class Job(Protocol):
    """One delivery's work, as the queue drives it."""

    async def run(self) -> Settle: ...

    def active(self) -> bool:
        """Whether heartbeats should keep the delivery alive now."""
        ...

    async def beat(self) -> None:
        """Called after each ``in_progress`` while active (e.g. to renew a lease)."""
        ...

    async def give_up(self) -> None:
        """The last allowed delivery failed: record the failure; the delivery is then acked."""
        ...


JobFactory = Callable[[Msg], Job]  # raises PoisonMessage for a message that can never run


class WorkQueueConsumer:
    """Runs jobs from a work-queue stream, ``concurrency`` at a time."""

    def __init__(
        self,
        js: JetStreamContext,
        spec: ConsumerSpec,
        jobs: JobFactory,
        concurrency: int,
        heartbeat_seconds: float | None = None,
        call_seconds: float = BROKER_CALL_SECONDS,
    ) -> None:
        self._call_seconds = call_seconds  # the longest a settlement or in_progress is awaited
        self._source = PullSource(js, spec)
        self._spec = spec
        self._jobs = jobs
        self._concurrency = concurrency
        self._beat_every = heartbeat_seconds or spec.ack_wait_seconds / 3
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def running(self) -> int:
        return len(self._tasks)

    async def run(self) -> None:
        """Pull and run jobs until cancelled; running jobs are then handed back to the queue."""
        try:
            while True:
                if len(self._tasks) >= self._concurrency:
                    await asyncio.wait(self._tasks, timeout=0.25, return_when=asyncio.FIRST_COMPLETED)
                    if self._source.buffered:
                        await self._hand_back()
                    continue
                # One at a time: fetch(n) returns every message already buffered, whatever n.
                for message in await self._source.fetch(1):
                    task = asyncio.create_task(self.handle(message))
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
        finally:
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _hand_back(self) -> None:
        """A delivery that reached this busy worker late goes back to the queue now."""
        with contextlib.suppress(nats.errors.Error, OSError, TimeoutError):
            for message in await self._source.fetch(1, wait=0.2):
                await bounded(message.nak())
                log.info("busy: job handed back", subject=message.subject)

    async def handle(self, message: Msg) -> None:
        """Run one delivery's job and settle it; no broker call here can hold it for ever.

        A settlement lost on the way (the broker away, or a reply that never comes) only means
        the broker redelivers the job after ``ack_wait``, and a job of a final scan is idempotent.
        """
        try:
            job = self._jobs(message)
        except PoisonMessage as error:
            log.error("job dropped", subject=message.subject, reason=str(error))
            await self._settle(message, "term", message.term())
            return
        attempt = message.metadata.num_delivered or 1
        heartbeat = asyncio.create_task(self._heartbeat(message, job))
        try:
            if await job.run() is Settle.ACK:
                await self._settle(message, "ack", message.ack())
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):  # shutting down: hand the job to another worker now
                await bounded(message.nak(), 0.5)
            raise
        except Exception as error:
            log.error("job failed", subject=message.subject, attempt=attempt, exc_info=error)
            if attempt >= self._spec.max_deliver:
                await job.give_up()
                await self._settle(message, "ack", message.ack())
            else:
                await self._settle(message, "nak", message.nak(delay=retry_delay(attempt)))
        finally:
            heartbeat.cancel()

    async def _settle(self, message: Msg, how: str, call: Awaitable[None]) -> None:
        try:
            await bounded(call, self._call_seconds)
        except (nats.errors.Error, OSError) as error:
            log.warning("job settlement lost; the broker redelivers it", how=how, error=str(error))

    async def _heartbeat(self, message: Msg, job: Job) -> None:
        while True:
            await asyncio.sleep(self._beat_every)
            if not job.active():
                continue  # not (yet, or no longer) running here, or stuck: nothing to keep alive
            with contextlib.suppress(nats.errors.Error, OSError):
                await bounded(message.in_progress(), self._call_seconds)
            try:
                await bounded(job.beat(), self._beat_every)
            except Exception as error:  # e.g. the store is away; the job's own checks decide
                log.warning("job heartbeat failed", subject=message.subject, error=str(error))
