"""After a completed scan's findings settled: diff it, and publish ScanChanged when anything changed.

Why here and then: the port side of the diff is scan-service's (DiffScans, which also picks the
previous completed scan of the same targets); the findings side is threat-service's, and only final
once the scan's ``findings_settled`` is out (new, resolved and reopened are known then). report-service
already follows that event (compliance posture) and owns the webhooks, so its durable
``report-change-scan-events`` (filter ``scan.events.*.findings_settled``) asks both services and
publishes ScanChanged on ``change.scan.<scan_id>`` through its outbox. The event id is fixed per scan
(``chg.<scan_id>``): a redelivered settlement stores and sends nothing twice. A service that does not
answer fails the handler, which is retried with back-off (nothing is published half-known).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Protocol

import grpc
import structlog
from nats.aio.msg import Msg

from rampart.common.v1 import common_pb2
from rampart.lib.catalogue import subjects
from rampart.lib.events import SCAN_EVENTS, ConsumerSpec, Outcome
from rampart.lib.scanevents import decode_scan_event
from rampart.scan.v1 import scan_pb2, scan_pb2_grpc
from rampart.threat.v1 import threat_pb2, threat_pb2_grpc
from rampart_report.alerts.changes import scan_changed
from rampart_report.alerts.model import MAX_DAYS

log = structlog.get_logger(__name__)

CHANGE_SCAN_EVENTS_CONSUMER = ConsumerSpec(
    SCAN_EVENTS,
    durable=subjects.REPORT_CHANGE_SCAN_EVENTS_DURABLE,
    filter_subject=subjects.SCAN_FINDINGS_SETTLED,
)
TIMEOUT = 15.0
Publish = Callable[[str, bytes, str], Awaitable[None]]  # (subject, data, event id): Outbox.add


class DiffSource(Protocol):
    async def diff(self, owner: common_pb2.Owner, scan_id: str, days: int) -> scan_pb2.ScanDiff | None:
        """Against the previous completed scan of the same targets; None when there is none."""
        ...


class FindingSource(Protocol):
    async def findings(self, owner: common_pb2.Owner, scan_id: str) -> Sequence[scan_pb2.FindingNotice]: ...


class GrpcPreviousDiff:
    """The diff of a settled scan against the previous completed scan of its targets, or None."""

    def __init__(self, stub: scan_pb2_grpc.ScanServiceStub) -> None:
        self._stub = stub

    async def diff(self, owner: common_pb2.Owner, scan_id: str, days: int) -> scan_pb2.ScanDiff | None:
        request = scan_pb2.DiffScansRequest(owner=owner, scan_id=scan_id, expiring_within_days=days)
        try:
            reply: scan_pb2.ScanDiff = await self._stub.DiffScans(request, timeout=TIMEOUT)
        except grpc.aio.AioRpcError as error:
            # no earlier completed scan of the same targets (or the scan is gone): nothing to compare
            if error.code() in (grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.NOT_FOUND):
                return None
            raise
        return reply


class GrpcScanFindings:
    def __init__(self, stub: threat_pb2_grpc.ThreatServiceStub) -> None:
        self._stub = stub

    async def findings(self, owner: common_pb2.Owner, scan_id: str) -> Sequence[scan_pb2.FindingNotice]:
        request = threat_pb2.ListScanFindingsRequest(owner=owner, scan_id=scan_id)
        reply: threat_pb2.ScanFindings = await self._stub.ListScanFindings(request, timeout=TIMEOUT)
        return list(reply.findings)


class ChangeDetector:
    """The durable's handler: one ScanChanged per completed scan that differs from its predecessor."""

    def __init__(
        self,
        diffs: DiffSource,
        findings: FindingSource,
        publish: Publish,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._diffs = diffs
        self._findings = findings
        self._publish = publish
        self._clock = clock

    async def __call__(self, message: Msg) -> Outcome:
        return await self.settled(decode_scan_event(message))

    async def settled(self, event: scan_pb2.ScanEvent) -> Outcome:
        if event.type != scan_pb2.SCAN_EVENT_TYPE_FINDINGS_SETTLED:
            return Outcome.APPLIED
        if event.status != scan_pb2.SCAN_STATUS_COMPLETED:
            return Outcome.APPLIED  # failed, cancelled, timed out: not a picture to compare
        diff = await self._diffs.diff(event.owner, event.scan_id, MAX_DAYS)
        if diff is None:
            return Outcome.APPLIED
        before = await self._findings.findings(event.owner, diff.against.scan_id)
        after = await self._findings.findings(event.owner, event.scan_id)
        changed = scan_changed(event, diff, before, after, self._clock())
        if changed is None:
            log.info("scan unchanged", scan_id=event.scan_id, against=diff.against.scan_id)
            return Outcome.APPLIED
        await self._publish(
            subjects.scan_changed(event.scan_id), changed.SerializeToString(), changed.event_id
        )
        log.info(
            "scan changed", scan_id=event.scan_id, against=diff.against.scan_id, counts=dict(changed.counts)
        )
        return Outcome.APPLIED
