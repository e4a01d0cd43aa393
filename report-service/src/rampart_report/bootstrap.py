"""Wires report-service from its settings; ``assemble`` takes any repository, so tests pass a fake."""

from __future__ import annotations

from dataclasses import dataclass

from rampart.lib.events import DurableConsumer
from rampart.lib.grpcclient import open_channel
from rampart.lib.grpcserver import ServiceBinding
from rampart.lib.runtime import Runtime, connect_infra
from rampart.lib.settings import ServiceSettings
from rampart.lib.tls import tls_files
from rampart.report.v1 import report_pb2, report_pb2_grpc
from rampart.scan.v1 import scan_pb2_grpc
from rampart.threat.v1 import threat_pb2_grpc
from rampart_report.api import ReportServicer
from rampart_report.consumers import SCAN_EVENTS_CONSUMER, ScanEventHandler
from rampart_report.exports.service import ExportService
from rampart_report.exports.sources import GrpcFindingSource, GrpcScanSource
from rampart_report.repository import MongoTimelineRepository, TimelineRepository
from rampart_report.service import TimelineService
from rampart_report.settings import ReportSettings

SERVICE_NAME = report_pb2.DESCRIPTOR.services_by_name["ReportService"].full_name


@dataclass(frozen=True)
class Parts:
    """The entry points of report-service around one service layer."""

    servicer: ReportServicer
    on_scan_event: ScanEventHandler


def assemble(repository: TimelineRepository, *, exports: ExportService) -> Parts:
    timelines = TimelineService(repository)
    return Parts(ReportServicer(timelines, exports), ScanEventHandler(timelines))


async def bootstrap(settings: ServiceSettings) -> Runtime:
    assert isinstance(settings, ReportSettings)
    infra = await connect_infra("report", settings)
    repository = MongoTimelineRepository(infra.db)
    await repository.create_indexes()
    tls = tls_files(settings)
    scan_channel, threat_channel = (
        open_channel(settings.scan_addr, tls),
        open_channel(settings.threat_addr, tls),
    )
    exports = ExportService(
        GrpcScanSource(scan_pb2_grpc.ScanServiceStub(scan_channel)),
        GrpcFindingSource(threat_pb2_grpc.ThreatServiceStub(threat_channel)),
    )
    parts = assemble(repository, exports=exports)
    consumer = DurableConsumer(infra.js, SCAN_EVENTS_CONSUMER, parts.on_scan_event)
    binding = ServiceBinding(
        SERVICE_NAME, parts.servicer, report_pb2_grpc.add_ReportServiceServicer_to_server
    )
    return Runtime(
        "report",
        settings,
        [binding],
        tasks=[consumer.run],
        closers=[infra.close, scan_channel.close, threat_channel.close],
        infra=infra,
    )
