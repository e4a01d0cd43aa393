"""Scan service layer: accept, read and cancel scans; every change publishes an event."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rampart.common.v1 import common_pb2
from rampart.lib.errors import InvalidArgument
from rampart.lib.ids import new_id, to_timestamp, utcnow
from rampart.lib.outbox import Outbox
from rampart.lib.store import Document
from rampart.scan.v1 import scan_pb2
from rampart_scan import domain
from rampart_scan.repository import ScanRepository

EVENT_TYPES = {
    domain.QUEUED: scan_pb2.SCAN_EVENT_TYPE_QUEUED,
    domain.CANCELLED: scan_pb2.SCAN_EVENT_TYPE_CANCELLED,
}
STATUSES = {
    domain.QUEUED: scan_pb2.SCAN_STATUS_QUEUED,
    domain.RUNNING: scan_pb2.SCAN_STATUS_RUNNING,
    domain.COMPLETED: scan_pb2.SCAN_STATUS_COMPLETED,
    domain.FAILED: scan_pb2.SCAN_STATUS_FAILED,
    domain.CANCELLED: scan_pb2.SCAN_STATUS_CANCELLED,
    domain.TIMEOUT: scan_pb2.SCAN_STATUS_TIMEOUT,
}


def event_subject(scan_id: str, status: str) -> str:
    return f"scan.events.{scan_id}.{status}"


def require_owner(owner: common_pb2.Owner) -> None:
    if not owner.user_id or not owner.org_id:
        raise InvalidArgument("owner is required", field="owner")


class ScanCommands:
    """Use cases over scans; entry points call these and nothing else."""

    def __init__(self, repository: ScanRepository, outbox: Outbox) -> None:
        self._repository = repository
        self._outbox = outbox

    async def create(self, request: scan_pb2.CreateScanRequest, request_id: str) -> Document:
        require_owner(request.owner)
        targets = domain.check_targets(list(request.targets))
        now = utcnow()
        doc: dict[str, Any] = {
            "_id": new_id("scan"),
            "org_id": request.owner.org_id,
            "user_id": request.owner.user_id,
            "sandbox": request.owner.mode == common_pb2.KEY_MODE_TEST,
            "targets": targets,
            "scan_type": request.scan_type or "tcp",
            "ports": request.ports or "1-1000",
            "options": {
                "os_detection": request.options.os_detection,
                "service_detection": request.options.service_detection,
                "ssl_check": request.options.ssl_check,
                "fast_mode": request.options.fast_mode,
            },
            "profile": request.profile or "standard",
            "max_duration_seconds": request.max_duration_seconds or 3600,
            "status": domain.QUEUED,
            "event_seq": 1,
            "created_at": now,
            "updated_at": now,
        }
        await self._repository.insert(doc)
        await self._emit(doc, request.owner, request_id)
        return doc

    async def get(self, owner: common_pb2.Owner, scan_id: str) -> Document:
        require_owner(owner)
        doc = await self._repository.get(owner.org_id, scan_id)
        if doc is None:
            raise domain.ScanNotFound("scan not found", scan_id=scan_id)
        return doc

    async def cancel(self, owner: common_pb2.Owner, scan_id: str, request_id: str) -> Document:
        current = await self.get(owner, scan_id)
        if current["status"] in domain.FINAL_STATES:
            return current
        doc = await self._repository.transition(owner.org_id, scan_id, domain.ACTIVE_STATES, domain.CANCELLED)
        if doc is None:  # finished between the read and the update
            return await self.get(owner, scan_id)
        await self._emit(doc, owner, request_id)
        return doc

    async def usage(self, owner: common_pb2.Owner, since: datetime) -> scan_pb2.Usage:
        require_owner(owner)
        counts = await self._repository.usage(owner.org_id, since)
        by_status = counts["by_status"]
        return scan_pb2.Usage(
            scans_total=sum(by_status.values()),
            scans_since=counts["scans_since"],
            active_scans=sum(by_status.get(state, 0) for state in domain.ACTIVE_STATES),
            by_status=by_status,
        )

    async def _emit(self, doc: Document, owner: common_pb2.Owner, request_id: str) -> None:
        event = scan_pb2.ScanEvent(
            event_id=f"{doc['_id']}.{doc['event_seq']}",
            scan_id=doc["_id"],
            owner=owner,
            type=EVENT_TYPES[doc["status"]],
            sequence=doc["event_seq"],
            occurred_at=to_timestamp(utcnow()),
            status=STATUSES[doc["status"]],
        )
        await self._outbox.add(
            event_subject(doc["_id"], doc["status"]),
            event.SerializeToString(),
            event.event_id,
            request_id,
        )
