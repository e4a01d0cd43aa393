"""Builds the report part of report-service: use cases, the job queue's workers and the sweeper."""

from __future__ import annotations

import os
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from rampart.ai.v1 import ai_pb2_grpc
from rampart.lib.events import EventPublisher
from rampart.lib.grpcclient import open_channel
from rampart.lib.runtime import Infra, Task
from rampart.lib.tls import tls_files
from rampart.lib.workqueue import WorkQueueConsumer
from rampart_report.exports.service import ExportService
from rampart_report.reports.broker import PublishedEvents, QueuedJobs
from rampart_report.reports.compliance import PostureSource
from rampart_report.reports.generation import ReportGeneration
from rampart_report.reports.narrative import GrpcNarrator
from rampart_report.reports.picking import ScanPicker
from rampart_report.reports.ports import DiffSource, Picker, Renderer, ScanFinder
from rampart_report.reports.rendering import ReportRenderer
from rampart_report.reports.repository import GridFsFiles, MongoReportRepository
from rampart_report.reports.service import ReportService, Retention
from rampart_report.reports.worker import jobs_consumer, report_jobs, sweep_forever
from rampart_report.settings import ReportSettings


@dataclass(frozen=True)
class ReportsPart:
    service: ReportService
    tasks: list[Task]
    closers: list[Callable[[], Awaitable[Any]]]


async def build_reports(
    settings: ReportSettings,
    infra: Infra,
    exports: ExportService,
    compliance: PostureSource,
    diffs: DiffSource,
    finder: ScanFinder,
) -> ReportsPart:
    """Reports read scans and findings through the exports' sources, narratives from ai-service,
    the posture from the compliance service, diffs and the scans of a period from scan-service."""
    ai_channel = open_channel(settings.ai_addr, tls_files(settings))
    narrator = GrpcNarrator(ai_pb2_grpc.AiServiceStub(ai_channel), settings.report_narrative_timeout_seconds)
    part = await reports_part(
        settings,
        infra,
        ReportRenderer(exports, narrator, settings.report_narrative_timeout_seconds, compliance, diffs=diffs),
        ScanPicker(finder, diffs),
    )
    return ReportsPart(part.service, part.tasks, [ai_channel.close])


async def reports_part(
    settings: ReportSettings, infra: Infra, renderer: Renderer, picker: Picker | None = None
) -> ReportsPart:
    repository = MongoReportRepository(infra.db)
    await repository.create_indexes()
    files = GridFsFiles(infra.db)
    publisher = EventPublisher(infra.js)
    retention = Retention(settings.report_retention(), settings.report_retention_default_days)
    service = ReportService(repository, files, QueuedJobs(publisher), retention, picker=picker)
    generation = ReportGeneration(
        repository,
        files,
        renderer,
        PublishedEvents(publisher),
        worker=f"{socket.gethostname()}-{os.getpid()}",
        lease_seconds=settings.report_lease_seconds,
    )
    queue = WorkQueueConsumer(
        infra.js,
        jobs_consumer(settings.report_job_ack_wait_seconds),
        report_jobs(generation),
        settings.report_concurrency,
    )

    async def sweep() -> None:
        await sweep_forever(service, settings.report_sweep_seconds)

    return ReportsPart(service, [queue.run, sweep], [])
