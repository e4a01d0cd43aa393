"""Live scan events for SSE and WebSocket clients, replayed from JetStream then followed.

Each client reads its own ordered consumer on ``scan.events.<scan_id>.>``, so a slow client
never slows the scan or other clients. Its buffer is bounded: a client that falls behind by
more than ``MAX_BUFFER`` events is told (``error`` with CLIENT_TOO_SLOW) and disconnected; it
can reconnect with Last-Event-ID and get what it missed. Event ids are JetStream sequence
numbers, so a resume starts exactly after the last event the client saw.

threat-service writes the scan's findings onto the same stream (``finding``), possibly after the
scan's final event (``complete`` / ``error``), and closes them with ``findings_settled``: a stream
ends after that. After the final event it waits for it as long as findings keep coming: it ends when
no event came for ``findings_grace`` seconds (threat-service down), or ``findings_max_wait`` seconds
after the final event whatever still comes (threat-service far behind); either way the client can
resume with Last-Event-ID and read the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from google.protobuf.message import DecodeError
from nats.aio.msg import Msg
from nats.js.api import ConsumerConfig, DeliverPolicy

from rampart.lib.catalogue import subjects
from rampart.scan.v1 import scan_pb2
from rampart_gateway.api.scans.views import SETTLED, STATUS, TERMINAL, counts, stream_event
from rampart_gateway.clients import BrokerLink
from rampart_gateway.errors import ApiError

MAX_BUFFER = 1000
IDLE_AFTER_FINAL = 2.0  # a finished scan whose history expired: how long to wait for replay
IDLE_TIMEOUT_CODE = "STREAM_IDLE_TIMEOUT"  # the final error of a stream that carried no event
FINDINGS_GRACE = 10.0  # after the final event, how long a stream waits for the next finding (or settled)
FINDINGS_MAX_WAIT = 600.0  # after the final event, the longest a stream follows findings still coming


@dataclass(frozen=True)
class StreamEvent:
    """One event for a stream client; id 0 for the ones the gateway makes itself."""

    id: int
    name: str
    data: dict[str, Any]


def synthetic_end(scan: scan_pb2.Scan) -> StreamEvent:
    """The final event of a scan whose event history is no longer kept."""
    status = STATUS[scan.status]
    data: dict[str, Any] = {"scan_id": scan.scan_id, "status": status, "summary": counts(scan.counts)}
    if status == "completed":
        return StreamEvent(0, "complete", data)
    return StreamEvent(
        0, "error", {**data, "error": {"code": scan.error.code, "message": scan.error.message}}
    )


def idle_end(scan: scan_pb2.Scan, seconds: float) -> StreamEvent:
    """The final event of a stream that carried no event for ``seconds`` (heartbeats aside)."""
    message = f"no event for {seconds:g} seconds; reconnect with Last-Event-ID to keep following"
    return StreamEvent(
        0, "error", {"scan_id": scan.scan_id, "error": {"code": IDLE_TIMEOUT_CODE, "message": message}}
    )


async def scan_events(
    broker: BrokerLink,
    scan: scan_pb2.Scan,
    after: int | None,
    max_buffer: int = MAX_BUFFER,
    idle_timeout: float | None = None,
    findings_grace: float = FINDINGS_GRACE,
    findings_max_wait: float = FINDINGS_MAX_WAIT,
) -> AsyncIterator[StreamEvent]:
    nc = broker.nc
    if nc is None or not nc.is_connected:
        raise ApiError("SERVICE_UNAVAILABLE", "the event stream is unavailable; retry shortly")
    queue: asyncio.Queue[Msg] = asyncio.Queue(maxsize=max_buffer)
    overflowed = False

    async def receive(message: Msg) -> None:
        nonlocal overflowed
        try:
            queue.put_nowait(message)
        except asyncio.QueueFull:
            overflowed = True

    if after:
        config = ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=after + 1)
    else:
        config = ConsumerConfig(deliver_policy=DeliverPolicy.ALL)
    subscription = await nc.jetstream().subscribe(
        subjects.scan_events_of(scan.scan_id),
        cb=receive,
        ordered_consumer=True,
        config=config,
        stream=subjects.SCAN_EVENTS_STREAM,
    )
    finished = STATUS[scan.status] in ("completed", "failed", "cancelled", "timeout")
    loop = asyncio.get_running_loop()
    settle_by: float | None = None  # set once the scan's final event went out; moved on by each finding
    give_up_at = 0.0  # the final event + findings_max_wait: settle_by never goes past it
    try:
        while True:
            if overflowed:
                yield StreamEvent(
                    0,
                    "error",
                    {
                        "scan_id": scan.scan_id,
                        "error": {
                            "code": "CLIENT_TOO_SLOW",
                            "message": f"more than {max_buffer} events behind; reconnect with Last-Event-ID",
                        },
                    },
                )
                return
            if settle_by is not None:
                wait: float | None = max(0.0, settle_by - loop.time())
            else:
                wait = IDLE_AFTER_FINAL if finished else idle_timeout
            try:
                message = await asyncio.wait_for(queue.get(), wait)
            except TimeoutError:
                if settle_by is None:
                    yield synthetic_end(scan) if finished else idle_end(scan, idle_timeout or 0)
                return
            try:
                event = scan_pb2.ScanEvent.FromString(message.data)
            except DecodeError:
                continue
            name, data = stream_event(event)
            yield StreamEvent(message.metadata.sequence.stream, name, data)
            if name == SETTLED:
                return
            if settle_by is not None:  # findings still coming after the scan's end: keep waiting
                settle_by = min(loop.time() + findings_grace, give_up_at)
            elif name in TERMINAL:
                if findings_grace <= 0:
                    return
                settle_by = loop.time() + findings_grace
                give_up_at = loop.time() + max(findings_max_wait, findings_grace)
    finally:
        with contextlib.suppress(Exception):
            await subscription.unsubscribe()
