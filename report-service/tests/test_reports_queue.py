"""Report jobs on a real JetStream work queue: two workers, one report, its events on the report's
own subjects; a job delivered again makes no second report and no second report.completed."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import pytest
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from report_fakes import Clock, FakeRenderer, MemoryFiles, MemoryReports

from rampart.lib.catalogue import subjects
from rampart.lib.events import REPORT_EVENTS, REPORT_JOBS, EventPublisher, connect_nats, ensure_streams
from rampart.lib.workqueue import WorkQueueConsumer
from rampart.report.v1 import report_pb2
from rampart_report.reports.broker import PublishedEvents, QueuedJobs
from rampart_report.reports.generation import ReportGeneration
from rampart_report.reports.model import ReportFormat, ReportRequest, ReportStatus, ReportType, Tenant
from rampart_report.reports.service import ReportService, Retention
from rampart_report.reports.worker import jobs_consumer, report_jobs
from tests.servers import Running, started

pytestmark = [pytest.mark.service, pytest.mark.timeout(60)]
ACME = Tenant("org_acme", "usr_a")


@pytest.fixture(scope="module")
def broker() -> Iterator[Running]:
    with started("nats-jetstream") as server:
        yield server


@pytest.fixture
async def nc(broker: Running) -> AsyncIterator[NATS]:
    client = await connect_nats(f"nats://127.0.0.1:{broker.port}", "report-test")
    await ensure_streams(client.jetstream(), (REPORT_JOBS, REPORT_EVENTS))
    yield client
    await client.close()


async def _until(check: Callable[[], Awaitable[bool]], deadline: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + deadline
    while not await check():
        assert loop.time() < end, "not in time"
        await asyncio.sleep(0.05)


async def test_a_job_is_run_once_by_one_of_two_workers_with_its_events(nc: NATS) -> None:
    js = nc.jetstream()
    clock, reports, files, renderer = Clock(), MemoryReports(), MemoryFiles(), FakeRenderer()
    publisher = EventPublisher(js)
    service = ReportService(reports, files, QueuedJobs(publisher), Retention({}), clock)
    events = PublishedEvents(publisher, clock)

    def worker(name: str) -> WorkQueueConsumer:
        generation = ReportGeneration(reports, files, renderer, events, name, clock=clock)
        return WorkQueueConsumer(js, jobs_consumer(30.0), report_jobs(generation), concurrency=2)

    received: list[tuple[str, report_pb2.ReportEvent]] = []

    async def listen(message: Msg) -> None:
        received.append((message.subject, report_pb2.ReportEvent.FromString(message.data)))

    runs = [asyncio.create_task(worker(name).run()) for name in ("w1", "w2")]
    try:
        report = await service.create(
            ACME, ReportRequest(ReportType.TECHNICAL, ReportFormat.PDF, ("scan_1",)), "free"
        )
        subscription = await js.subscribe(subjects.report_events_of(report.report_id), cb=listen)

        async def completed() -> bool:
            return any(event.type == "report.completed" for _, event in received)

        await _until(completed)
        # The same job again, as a redelivery after a crash would bring it.
        job = report_pb2.ReportJob(report_id=report.report_id)
        await publisher.publish(subjects.REPORT_JOBS, job.SerializeToString(), f"again.{report.report_id}")

        async def drained() -> bool:
            info = await js.consumer_info(REPORT_JOBS.name, subjects.REPORT_WORKERS_DURABLE)
            return bool(info.num_pending == 0 and info.num_ack_pending == 0)

        await _until(drained)
        await subscription.unsubscribe()
    finally:
        for run in runs:
            run.cancel()
        for run in runs:
            with contextlib.suppress(asyncio.CancelledError):
                await run

    assert renderer.calls == 1
    assert files.puts == 1
    ready = await service.get(ACME, report.report_id)
    assert ready.status is ReportStatus.READY
    kinds = [subject.rsplit(".", 1)[-1] for subject, _ in received]
    assert kinds[0] == "progress"
    assert kinds.count("completed") == 1
    done = next(event for _, event in received if event.type == "report.completed")
    assert done.report.status == report_pb2.REPORT_STATUS_READY
    assert ready.file is not None
    assert done.report.sha256 == ready.file.sha256
    stream = await js.stream_info(
        REPORT_EVENTS.name, subjects_filter=subjects.report_event(report.report_id, "completed")
    )
    assert stream.state.subjects == {subjects.report_event(report.report_id, "completed"): 1}
