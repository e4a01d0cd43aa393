"""Wires report-service from its settings."""

from __future__ import annotations

from rampart.lib.catalogue import subjects
from rampart.lib.events import DurableConsumer
from rampart.lib.grpcserver import ServiceBinding
from rampart.lib.runtime import Runtime, connect_infra
from rampart.lib.scanevents import scan_events_consumer
from rampart.lib.settings import ServiceSettings
from rampart.report.v1 import report_pb2, report_pb2_grpc
from rampart_report.api import ReportServicer
from rampart_report.timeline import ScanTimeline

SERVICE_NAME = report_pb2.DESCRIPTOR.services_by_name["ReportService"].full_name
CONSUMER = scan_events_consumer(subjects.REPORT_SCAN_EVENTS_DURABLE)


async def bootstrap(settings: ServiceSettings) -> Runtime:
    infra = await connect_infra("report", settings)
    timeline = ScanTimeline(infra.db)
    await timeline.create_indexes()
    consumer = DurableConsumer(infra.js, CONSUMER, timeline.handle)
    binding = ServiceBinding(
        SERVICE_NAME, ReportServicer(timeline), report_pb2_grpc.add_ReportServiceServicer_to_server
    )
    return Runtime("report", settings, [binding], tasks=[consumer.run], closers=[infra.close], infra=infra)
