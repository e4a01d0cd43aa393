"""NATS entry points of threat-service: decode each event, hand it to the service layer."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Protocol

import nats.errors
import structlog
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from rampart.lib.catalogue import subjects
from rampart.lib.events import (
    REQUEST_ID_HEADER,
    ConsumerSpec,
    DurableConsumer,
    Outcome,
    PoisonMessage,
    PullSource,
)
from rampart.lib.ids import new_request_id
from rampart.lib.logging import bind_request
from rampart.lib.metrics import EVENTS_CONSUMED
from rampart.lib.scanevents import decode_scan_event, scan_events_consumer
from rampart_threat.findings.pipeline import FINAL_EVENTS, OWN_EVENTS, FindingPipeline
from rampart_threat.mappers import activity_event
from rampart_threat.service import ActivityService

log = structlog.get_logger(__name__)

# Durable on SCAN_EVENTS; its NATS permissions are rampart.lib.callers.DURABLES["threat"].
SCAN_EVENTS_CONSUMER = scan_events_consumer(subjects.THREAT_SCAN_EVENTS_DURABLE)


def _request_id(message: Msg) -> str:
    return (message.headers or {}).get(REQUEST_ID_HEADER, "")


class ScanEventHandler:
    """Applies each scan event to the scan's activity and findings (a poison message is dropped by
    the consumer). The pipeline's own events come back on the same stream: they are skipped."""

    def __init__(self, activity: ActivityService, findings: FindingPipeline | None = None) -> None:
        self._activity = activity
        self._findings = findings  # idempotent by itself: runs again on a redelivery

    async def __call__(self, message: Msg) -> Outcome:
        return (await self.handle_many([message]))[0]

    async def handle_many(self, messages: Sequence[Msg]) -> list[Outcome]:
        """Messages in stream order, applied together (the finding pipeline batches its store writes);
        raises if any fails, and then nothing of them is acknowledged (every step is idempotent)."""
        events = [decode_scan_event(message) for message in messages]
        if self._findings is not None:
            await self._findings.apply_many(
                [
                    (e, _request_id(m))
                    for e, m in zip(events, messages, strict=True)
                    if e.type not in OWN_EVENTS
                ]
            )
        theirs = [i for i, event in enumerate(events) if event.type not in OWN_EVENTS]
        recorded = await self._activity.record_many([activity_event(events[i]) for i in theirs])
        outcomes = [Outcome.DUPLICATE] * len(events)
        for i, outcome in zip(theirs, recorded, strict=True):
            outcomes[i] = outcome
        return outcomes

    @staticmethod
    def alone(message: Msg) -> bool:
        """A message applied on its own: a scan's final event (its settlement may be deferred: nak
        with backoff) and anything undecodable (dropped)."""
        try:
            return decode_scan_event(message).type in FINAL_EVENTS
        except PoisonMessage:
            return True


class BatchHandler(Protocol):
    """What ``ScanEventBatches`` drives: a message on its own (``DurableConsumer``'s handler), many
    together, and which ones go alone."""

    async def __call__(self, message: Msg) -> Outcome: ...

    async def handle_many(self, messages: Sequence[Msg]) -> list[Outcome]: ...

    def alone(self, message: Msg) -> bool: ...


class ScanEventBatches:
    """The scan-event consumer, a fetch (up to ``spec.batch`` messages) at a time: the messages
    between two final events are applied together and acknowledged once all their writes are done;
    a final event, an undecodable message, and every message of a batch that failed go through
    ``DurableConsumer.handle`` one at a time (ack, nak with backoff, or term as for any consumer)."""

    def __init__(
        self, js: JetStreamContext, spec: ConsumerSpec, handler: BatchHandler, linger: float = 0.0
    ) -> None:
        # ``linger``: after a fetch that was not full, wait this long before the next one, so that
        # a consumer keeping up still writes per many events (the inventory: a host's asset).
        self._linger = linger
        self._source = PullSource(js, spec)
        self._spec = spec
        self._handler = handler
        self._one = DurableConsumer(js, spec, handler)  # handle() only: it never fetches

    async def run(self) -> None:
        while True:
            fetched = await self._source.fetch(self._spec.batch)
            await self.handle(fetched)
            if fetched and len(fetched) < self._spec.batch and self._linger > 0:
                await asyncio.sleep(self._linger)

    async def handle(self, messages: Sequence[Msg]) -> None:
        together: list[Msg] = []
        for message in messages:
            if self._handler.alone(message):
                await self._together(together)
                together = []
                await self._alone(message)
            else:
                together.append(message)
        await self._together(together)

    async def _together(self, messages: Sequence[Msg]) -> None:
        if not messages:
            return
        began = time.perf_counter()
        try:
            outcomes = await self._handler.handle_many(messages)
        except Exception:
            log.warning("event batch failed, one at a time", durable=self._spec.durable, exc_info=True)
            for message in messages:
                await self._alone(message)
            return
        for message, outcome in zip(messages, outcomes, strict=True):
            try:
                await message.ack()
            except (nats.errors.Error, OSError) as error:  # redelivered after ack_wait: nothing twice
                log.warning("ack lost", durable=self._spec.durable, error=str(error))
                continue
            EVENTS_CONSUMED.labels(self._spec.durable, outcome.value).inc()
            bind_request(_request_id(message) or new_request_id())  # each message's trail, as one by one
            log.info(
                "event handled", durable=self._spec.durable, subject=message.subject, outcome=outcome.value
            )
        seconds = round(time.perf_counter() - began, 3)
        log.info("events handled", durable=self._spec.durable, count=len(messages), seconds=seconds)

    async def _alone(self, message: Msg) -> None:
        try:
            await self._one.handle(message)
        except (nats.errors.Error, OSError) as error:
            log.warning("ack lost", durable=self._spec.durable, error=str(error))
