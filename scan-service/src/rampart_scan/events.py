"""Scan events out: lifecycle events and jobs through the outbox, live ones straight to the broker."""

from __future__ import annotations

from dataclasses import dataclass
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
from rampart_scan.mappers import LIFECYCLE, counts_to_proto, job_to_proto, port_to_proto, scan_event

JOB_SUBJECT = subjects.SCAN_JOBS
CONTROL_SUBJECT = subjects.SCAN_CANCEL
HEARTBEAT_SUBJECT = subjects.WORKER_HEARTBEAT  # core NATS: {"worker", "running", "capacity"} every 2 s
log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class PendingEvents:
    """Outbox entries not yet in the outbox: stored inside their scan until they are."""

    entries: tuple[Document, ...]


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
        f"{scan.id}.{scan.status}",
        at,
        summary=counts_to_proto(scan.counts) if summary else None,
        error=error,
        duration_seconds=scan.duration_seconds if summary else 0.0,
    )
    return Outbox.entry(
        subject(scan.id, _name(message)), message.SerializeToString(), message.event_id, request_id
    )


def job_entry(scan: Scan, request_id: str, event_id: str = "") -> Document:
    """The outbox entry of the scan's job; a requeue gets a fresh id past the broker's de-duplication."""
    job = job_to_proto(scan, request_id)
    return Outbox.entry(JOB_SUBJECT, job.SerializeToString(), event_id or f"{scan.id}.job", request_id)


class ScanEvents:
    """Publishes a scan's events: stored first when they must not be lost, at once when they are live."""

    def __init__(
        self, outbox: Outbox, publisher: EventPublisher | None = None, nc: NATS | None = None
    ) -> None:
        self._outbox = outbox
        self._publisher = publisher
        self._nc = nc

    def on_create(self, scan: Scan, request_id: str) -> PendingEvents:
        """The queued event and the job, to be stored inside the new scan."""
        return PendingEvents((lifecycle_entry(scan, request_id), job_entry(scan, request_id)))

    async def release(self, pending: PendingEvents) -> None:
        await self._outbox.add_entries(list(pending.entries))

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
        """port_found, or service_detected once the port's service (and TLS) is known."""
        kind = scan_pb2.SCAN_EVENT_TYPE_SERVICE_DETECTED if service else scan_pb2.SCAN_EVENT_TYPE_PORT_FOUND
        event_id = f"{scan.id}.{'service' if service else 'port'}.{result.host}.{result.port}"
        await self._live(scan_event(scan, kind, event_id, utcnow(), port=port_to_proto(result)), request_id)

    async def _live(self, message: scan_pb2.ScanEvent, request_id: str) -> None:
        """Sent at once; the results are stored anyway, and the final event goes through the outbox."""
        if self._publisher is None:
            return
        try:
            await self._publisher.publish(
                subject(message.scan_id, _name(message)),
                message.SerializeToString(),
                message.event_id,
                request_id,
            )
        except (nats.errors.Error, OSError, TimeoutError) as error:
            log.warning("live event not sent", event_id=message.event_id, error=str(error))

    async def ask_workers_to_cancel(self, scan_id: str) -> None:
        if self._nc is not None and self._nc.is_connected:
            await self._nc.publish(CONTROL_SUBJECT, scan_id.encode())
