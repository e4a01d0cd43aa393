"""Building scan events; lifecycle events go through the outbox, live ones straight out."""

from __future__ import annotations

from typing import Any

from rampart.common.v1 import common_pb2
from rampart.lib.catalogue import subjects
from rampart.lib.events import EventPublisher
from rampart.lib.ids import to_timestamp, utcnow
from rampart.lib.outbox import Outbox
from rampart.lib.store import Document
from rampart.scan.v1 import scan_pb2
from rampart_scan import domain

STATUSES = {
    domain.QUEUED: scan_pb2.SCAN_STATUS_QUEUED,
    domain.RUNNING: scan_pb2.SCAN_STATUS_RUNNING,
    domain.COMPLETED: scan_pb2.SCAN_STATUS_COMPLETED,
    domain.FAILED: scan_pb2.SCAN_STATUS_FAILED,
    domain.CANCELLED: scan_pb2.SCAN_STATUS_CANCELLED,
    domain.TIMEOUT: scan_pb2.SCAN_STATUS_TIMEOUT,
}
LIFECYCLE = {
    domain.QUEUED: scan_pb2.SCAN_EVENT_TYPE_QUEUED,
    domain.RUNNING: scan_pb2.SCAN_EVENT_TYPE_STARTED,
    domain.COMPLETED: scan_pb2.SCAN_EVENT_TYPE_COMPLETED,
    domain.FAILED: scan_pb2.SCAN_EVENT_TYPE_FAILED,
    domain.CANCELLED: scan_pb2.SCAN_EVENT_TYPE_CANCELLED,
    domain.TIMEOUT: scan_pb2.SCAN_EVENT_TYPE_TIMEOUT,
}
JOB_SUBJECT = subjects.SCAN_JOBS
CONTROL_SUBJECT = subjects.SCAN_CANCEL
HEARTBEAT_SUBJECT = subjects.WORKER_HEARTBEAT  # every 2 s


def owner_of(doc: Document) -> common_pb2.Owner:
    mode = common_pb2.KEY_MODE_TEST if doc.get("sandbox") else common_pb2.KEY_MODE_LIVE
    return common_pb2.Owner(user_id=doc["user_id"], org_id=doc["org_id"], mode=mode)


def subject(scan_id: str, kind: str) -> str:
    return subjects.scan_event(scan_id, kind)


def event(
    doc: Document, kind: scan_pb2.ScanEventType.ValueType, event_id: str, **payload: Any
) -> scan_pb2.ScanEvent:
    at = payload.pop("at", None) or utcnow()
    # sequence orders a scan's events for consumers: the moment it happened, in microseconds
    return scan_pb2.ScanEvent(
        event_id=event_id,
        scan_id=doc["_id"],
        owner=owner_of(doc),
        type=kind,
        occurred_at=to_timestamp(at),
        sequence=int(at.timestamp() * 1_000_000),
        status=STATUSES[doc["status"]],
        **payload,
    )


def lifecycle_entry(doc: Document, request_id: str, **payload: Any) -> dict[str, Any]:
    """The outbox entry of a lifecycle event, for embedding in the scan's own document."""
    status = doc["status"]
    message = event(doc, LIFECYCLE[status], f"{doc['_id']}.{status}", **payload)
    name = scan_pb2.ScanEventType.Name(message.type).removeprefix("SCAN_EVENT_TYPE_").lower()
    return Outbox.entry(subject(doc["_id"], name), message.SerializeToString(), message.event_id, request_id)


def job_entry(doc: Document, request_id: str, event_id: str = "") -> dict[str, Any]:
    """The outbox entry of the scan's job; a requeue gets a fresh id past the broker's de-duplication."""
    job = scan_pb2.ScanJob(scan_id=doc["_id"], owner=owner_of(doc), request_id=request_id)
    return Outbox.entry(JOB_SUBJECT, job.SerializeToString(), event_id or f"{doc['_id']}.job", request_id)


async def lifecycle(outbox: Outbox, doc: Document, request_id: str, **payload: Any) -> None:
    """queued / started / completed / failed / cancelled / timeout: stored, then sent (at least once)."""
    await outbox.add_entries([lifecycle_entry(doc, request_id, **payload)])


async def live(publisher: EventPublisher, message: scan_pb2.ScanEvent, request_id: str) -> None:
    """progress / port_found / service_detected: sent at once; the results are stored anyway."""
    name = scan_pb2.ScanEventType.Name(message.type).removeprefix("SCAN_EVENT_TYPE_").lower()
    await publisher.publish(
        subject(message.scan_id, name), message.SerializeToString(), message.event_id, request_id
    )
