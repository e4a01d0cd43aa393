"""The reports' broker adapters: the REPORT_JOBS queue and the report events (ReportEvent).

Event ids are derived from the report (and for progress, the stage and the attempt), and sent as
Nats-Msg-Id, so an event published again by a redelivered job is dropped by the broker.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

from rampart.lib.catalogue import subjects
from rampart.lib.events import EventPublisher
from rampart.lib.ids import to_timestamp
from rampart.report.v1 import report_pb2
from rampart_report.reports.mappers import report_message
from rampart_report.reports.model import Report

PROGRESS, COMPLETED, FAILED = "progress", "completed", "failed"


class QueuedJobs:
    """``JobQueue`` on the REPORT_JOBS work-queue stream (one message per report)."""

    def __init__(self, publisher: EventPublisher) -> None:
        self._publisher = publisher

    async def enqueue(self, report_id: str, request_id: str) -> None:
        job = report_pb2.ReportJob(report_id=report_id, request_id=request_id)
        await self._publisher.publish(
            subjects.REPORT_JOBS, job.SerializeToString(), f"job.{report_id}", request_id or None
        )


class PublishedEvents:
    """``ReportEvents`` on report.events.<report_id>.<kind>."""

    def __init__(
        self, publisher: EventPublisher, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self._publisher = publisher
        self._clock = clock

    async def _publish(self, report: Report, kind: str, event_id: str, stage: str = "") -> None:
        event = report_pb2.ReportEvent(
            event_id=event_id,
            type=f"report.{kind}",
            report=report_message(report),
            stage=stage,
            occurred_at=to_timestamp(self._clock()),
        )
        subject = subjects.report_event(report.report_id, kind)
        await self._publisher.publish(subject, event.SerializeToString(), event_id)

    async def progress(self, report: Report, stage: str, percent: int) -> None:
        shown = replace(report, progress=percent)
        await self._publish(
            shown, PROGRESS, f"{report.report_id}.{PROGRESS}.{stage}.{report.attempts}", stage
        )

    async def completed(self, report: Report) -> None:
        await self._publish(report, COMPLETED, f"{report.report_id}.{COMPLETED}")

    async def failed(self, report: Report) -> None:
        await self._publish(report, FAILED, f"{report.report_id}.{FAILED}")
