"""Wires report-service from its settings; ``assemble`` takes any repository, so tests pass a fake."""

from __future__ import annotations

from dataclasses import dataclass

from rampart.lib.events import DurableConsumer
from rampart.lib.grpcserver import ServiceBinding
from rampart.lib.runtime import Runtime, connect_infra
from rampart.lib.settings import ServiceSettings
from rampart.report.v1 import report_pb2, report_pb2_grpc
from rampart_report.api import ReportServicer
from rampart_report.compliance.service import ComplianceService
from rampart_report.compliance.wiring import build_compliance
from rampart_report.consumers import SCAN_EVENTS_CONSUMER, ScanEventHandler
from rampart_report.repository import MongoTimelineRepository, TimelineRepository
from rampart_report.service import TimelineService
from rampart_report.settings import ReportSettings

SERVICE_NAME = report_pb2.DESCRIPTOR.services_by_name["ReportService"].full_name


@dataclass(frozen=True)
class Parts:
    """The entry points of report-service around one service layer."""

    servicer: ReportServicer
    on_scan_event: ScanEventHandler


def assemble(repository: TimelineRepository, compliance: ComplianceService | None = None) -> Parts:
    timelines = TimelineService(repository)
    return Parts(ReportServicer(timelines, compliance), ScanEventHandler(timelines))


async def bootstrap(settings: ServiceSettings) -> Runtime:
    report = (
        settings
        if isinstance(settings, ReportSettings)
        else ReportSettings.model_validate(settings.model_dump())
    )
    infra = await connect_infra("report", report)
    repository = MongoTimelineRepository(infra.db)
    await repository.create_indexes()
    compliance = await build_compliance(report, infra)
    parts = assemble(repository, compliance.service)
    consumer = DurableConsumer(infra.js, SCAN_EVENTS_CONSUMER, parts.on_scan_event)
    binding = ServiceBinding(
        SERVICE_NAME, parts.servicer, report_pb2_grpc.add_ReportServiceServicer_to_server
    )
    tasks = [consumer.run, *compliance.tasks]
    closers = [*compliance.closers, infra.close]
    return Runtime("report", report, [binding], tasks=tasks, closers=closers, infra=infra)
