"""Report workers: jobs from the REPORT_JOBS work queue (``rampart.lib.workqueue``), and the sweeper.

Every report-service process runs ``concurrency`` report jobs at a time from one durable
consumer, so any number of processes share the work. While a job runs the queue reports
``in_progress`` and the worker renews its lease on the report; a worker that dies stops both,
and the job goes to another one once ``ack_wait`` and the lease have run out.
"""

from __future__ import annotations

import asyncio

import structlog
from google.protobuf.message import DecodeError
from nats.aio.msg import Msg

from rampart.lib.catalogue import subjects
from rampart.lib.events import REPORT_JOBS, ConsumerSpec, PoisonMessage
from rampart.lib.logging import bind_request
from rampart.lib.workqueue import Job, JobFactory, Settle
from rampart.report.v1 import report_pb2
from rampart_report.reports.generation import ReportGeneration
from rampart_report.reports.service import ReportService

log = structlog.get_logger(__name__)
MAX_DELIVER = 5


def jobs_consumer(ack_wait_seconds: float) -> ConsumerSpec:
    return ConsumerSpec(
        REPORT_JOBS,
        durable=subjects.REPORT_WORKERS_DURABLE,
        filter_subject=subjects.REPORT_JOBS,
        max_deliver=MAX_DELIVER,
        ack_wait_seconds=ack_wait_seconds,
        max_ack_pending=10_000,
    )


class ReportJobRun:
    """One delivery of a report's job (``workqueue.Job``)."""

    def __init__(self, generation: ReportGeneration, report_id: str) -> None:
        self._generation = generation
        self._report_id = report_id

    async def run(self) -> Settle:
        if await self._generation.execute(self._report_id):
            return Settle.ACK
        log.info("report held by another worker; not run", report_id=self._report_id)
        return Settle.LEAVE

    def active(self) -> bool:
        return self._generation.holds(self._report_id)

    async def beat(self) -> None:
        await self._generation.renew(self._report_id)

    async def give_up(self) -> None:
        await self._generation.fail(self._report_id, f"gave up after {MAX_DELIVER} attempts")


def report_jobs(generation: ReportGeneration) -> JobFactory:
    def open_job(message: Msg) -> Job:
        try:
            job = report_pb2.ReportJob.FromString(message.data)
        except DecodeError as error:
            raise PoisonMessage(f"undecodable report job: {error}") from error
        if not job.report_id:
            raise PoisonMessage("report job without a report id")
        bind_request(job.request_id or job.report_id)
        return ReportJobRun(generation, job.report_id)

    return open_job


async def sweep_forever(service: ReportService, every_seconds: float) -> None:
    """Remove expired reports every ``every_seconds`` (each replica may: removal is idempotent)."""
    while True:
        try:
            await service.sweep()
        except Exception as error:  # the store is away: try again next round
            log.warning("report sweep failed", error=str(error))
        await asyncio.sleep(every_seconds)
