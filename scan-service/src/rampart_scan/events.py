"""Scan events out: lifecycle events and jobs through the outbox, live ones straight to the broker.

A live port event the broker does not take goes to the outbox after all (it feeds the findings);
a live progress event is simply dropped (the next one supersedes it).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

import nats.errors
import structlog
from nats.aio.client import Client as NATS

from rampart.lib.catalogue import subjects
from rampart.lib.events import EventPublisher
from rampart.lib.ids import utcnow
from rampart.lib.outbox import Outbox
from rampart.lib.store import Document
from rampart.scan.v1 import scan_pb2
from rampart_scan.domain import PortResult, Scan, ScanError
from rampart_scan.mappers import (
    LIFECYCLE,
    counts_to_proto,
    coverage_to_proto,
    job_to_proto,
    port_to_proto,
    scan_event,
)

JOB_SUBJECT = subjects.SCAN_JOBS
CONTROL_SUBJECT = subjects.SCAN_CANCEL
HEARTBEAT_SUBJECT = subjects.WORKER_HEARTBEAT  # core NATS: {"worker", "running", "capacity"} every 2 s
JOB_BATCH = 500  # shard jobs written to the outbox per round trip
log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class PendingEvents:
    """Outbox entries not yet in the outbox: stored inside their scan until they are.

    A sharded scan's jobs are not stored one by one: the scan's shard plan names them, so the
    scan still carries them atomically (``outbox_pending`` stays true until every batch of them
    is in the outbox; the sweeper writes them again, idempotently, after a crash).
    """

    entries: tuple[Document, ...]
    scan: Scan | None = None  # set for a sharded scan: its shard jobs follow the entries
    request_id: str = ""
    done: frozenset[int] = field(default_factory=frozenset)  # shards already done (a resume)


def run_suffix(scan: Scan) -> str:
    """Event ids of a resumed scan's run differ from the earlier runs' (consumers count each once)."""
    return f".r{scan.resumes}" if scan.resumes else ""


def subject(scan_id: str, kind: str) -> str:
    return subjects.scan_event(scan_id, kind)


def _name(message: scan_pb2.ScanEvent) -> str:
    return scan_pb2.ScanEventType.Name(message.type).removeprefix("SCAN_EVENT_TYPE_").lower()


def lifecycle_entry(
    scan: Scan,
    request_id: str,
    error: ScanError | None = None,
    summary: bool = False,
    at: datetime | None = None,
) -> Document:
    """The outbox entry of a lifecycle event (queued, started, and the final ones)."""
    at = at or utcnow()
    message = scan_event(
        scan,
        LIFECYCLE[scan.status],
        f"{scan.id}.{scan.status}{run_suffix(scan)}",
        at,
        summary=counts_to_proto(scan.counts) if summary else None,
        error=error,
        duration_seconds=scan.duration_seconds if summary else 0.0,
        coverage=coverage_to_proto(scan) if summary else None,
    )
    return Outbox.entry(
        subject(scan.id, _name(message)), message.SerializeToString(), message.event_id, request_id
    )


def job_entry(scan: Scan, request_id: str, event_id: str = "") -> Document:
    """The outbox entry of the scan's job; a requeue gets a fresh id past the broker's de-duplication."""
    job = job_to_proto(scan, request_id)
    event_id = event_id or f"{scan.id}.job{run_suffix(scan)}"
    return Outbox.entry(JOB_SUBJECT, job.SerializeToString(), event_id, request_id)


def shard_job_entry(scan: Scan, request_id: str, index: int, suffix: str = "") -> Document:
    """The job of one shard; ``suffix`` tells a requeue's job from the first one."""
    job = job_to_proto(scan, request_id, index)
    event_id = f"{scan.id}.job.s{index}{run_suffix(scan)}{suffix}"
    return Outbox.entry(JOB_SUBJECT, job.SerializeToString(), event_id, request_id)


def shard_jobs(
    scan: Scan, request_id: str, done: frozenset[int] = frozenset(), suffix: str = ""
) -> Iterator[list[Document]]:
    """The jobs of the shards not done yet, in batches of ``JOB_BATCH`` (bounded memory)."""
    batch: list[Document] = []
    for index in range(1, scan.shards.count + 1):
        if index in done:
            continue
        batch.append(shard_job_entry(scan, request_id, index, suffix))
        if len(batch) >= JOB_BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def pending_for(scan: Scan, request_id: str, done: frozenset[int] = frozenset()) -> PendingEvents:
    """The queued event and the job(s) of a scan being created or resumed."""
    queued = lifecycle_entry(scan, request_id)
    if scan.shards.sharded:
        return PendingEvents((queued,), scan, request_id, done)
    return PendingEvents((queued, job_entry(scan, request_id)))


class ScanEvents:
    """Publishes a scan's events: stored first when they must not be lost, at once when they are live."""

    def __init__(
        self, outbox: Outbox, publisher: EventPublisher | None = None, nc: NATS | None = None
    ) -> None:
        self._outbox = outbox
        self._publisher = publisher
        self._nc = nc

    def on_create(self, scan: Scan, request_id: str) -> PendingEvents:
        """The queued event and the job(s), to be stored inside the new scan."""
        return pending_for(scan, request_id)

    def on_resume(self, scan: Scan, request_id: str, done: frozenset[int]) -> PendingEvents:
        """The queued event of the resumed run and the jobs of the shards not done yet."""
        return pending_for(scan, request_id, done)

    async def release(self, pending: PendingEvents) -> None:
        await self._outbox.add_entries(list(pending.entries))
        if pending.scan is not None:
            for batch in shard_jobs(pending.scan, pending.request_id, pending.done):
                await self._outbox.add_entries(batch)

    async def release_many(self, pendings: list[PendingEvents]) -> None:
        """Several scans' entries in one outbox write (their shard jobs, if any, in batches after)."""
        await self._outbox.add_entries([entry for pending in pendings for entry in pending.entries])
        for pending in pendings:
            if pending.scan is not None:
                for batch in shard_jobs(pending.scan, pending.request_id, pending.done):
                    await self._outbox.add_entries(batch)

    async def lifecycle(
        self, scan: Scan, request_id: str, error: ScanError | None = None, summary: bool = False
    ) -> None:
        """queued / started / completed / …: stored, then sent; ``summary`` adds counts and duration."""
        at = scan.completed_at if summary else None
        await self._outbox.add_entries([lifecycle_entry(scan, request_id, error, summary, at)])

    async def progress(
        self, scan: Scan, request_id: str, event_id: str, done: int, total: int, percent: int
    ) -> None:
        progress = scan_pb2.Progress(ports_done=done, ports_total=total, percent=percent)
        await self._live(
            scan_event(scan, scan_pb2.SCAN_EVENT_TYPE_PROGRESS, event_id, utcnow(), progress), request_id
        )

    async def port(self, scan: Scan, request_id: str, result: PortResult, service: bool) -> None:
        """port_found, or service_detected once the port's service (and TLS) is known.

        They feed the findings: one the broker did not take is kept in the outbox for the relay.
        """
        kind = scan_pb2.SCAN_EVENT_TYPE_SERVICE_DETECTED if service else scan_pb2.SCAN_EVENT_TYPE_PORT_FOUND
        event_id = f"{scan.id}.{'service' if service else 'port'}.{result.host}.{result.port}"
        port = port_to_proto(result, scan.spec.scan_type)
        message = scan_event(scan, kind, event_id, utcnow(), port=port)
        if not await self._live(message, request_id):
            subject_of = subject(message.scan_id, _name(message))
            await self._outbox.keep(
                [Outbox.entry(subject_of, message.SerializeToString(), message.event_id, request_id)]
            )

    async def _live(self, message: scan_pb2.ScanEvent, request_id: str) -> bool:
        """Sent at once (bounded); False when the broker did not take it (a progress is then dropped)."""
        if self._publisher is None:
            return True  # nothing is sent from here (scan-service's API side)
        if self._nc is not None and not self._nc.is_connected:
            return False  # reconnecting: do not wait for a publish that cannot be answered
        try:
            await self._publisher.publish(
                subject(message.scan_id, _name(message)),
                message.SerializeToString(),
                message.event_id,
                request_id,
            )
        except (nats.errors.Error, OSError, TimeoutError) as error:
            log.warning("live event not sent", event_id=message.event_id, error=str(error))
            return False
        return True

    async def ask_workers_to_cancel(self, scan_id: str) -> None:
        if self._nc is not None and self._nc.is_connected:
            await self._nc.publish(CONTROL_SUBJECT, scan_id.encode())
