"""Wires threat-service from its settings; ``assemble`` takes any repository, so tests pass a fake."""

from __future__ import annotations

from dataclasses import dataclass

from rampart.lib.events import DurableConsumer
from rampart.lib.grpcserver import ServiceBinding
from rampart.lib.runtime import Runtime, connect_infra
from rampart.lib.settings import ServiceSettings
from rampart.threat.v1 import threat_pb2, threat_pb2_grpc
from rampart_threat.api import ThreatServicer
from rampart_threat.consumers import SCAN_EVENTS_CONSUMER, ScanEventHandler
from rampart_threat.repository import ActivityRepository, MongoActivityRepository
from rampart_threat.service import ActivityService

SERVICE_NAME = threat_pb2.DESCRIPTOR.services_by_name["ThreatService"].full_name


@dataclass(frozen=True)
class Parts:
    """The entry points of threat-service around one service layer."""

    servicer: ThreatServicer
    on_scan_event: ScanEventHandler


def assemble(repository: ActivityRepository) -> Parts:
    activity = ActivityService(repository)
    return Parts(ThreatServicer(activity), ScanEventHandler(activity))


async def bootstrap(settings: ServiceSettings) -> Runtime:
    infra = await connect_infra("threat", settings)
    repository = MongoActivityRepository(infra.db)
    await repository.create_indexes()
    parts = assemble(repository)
    consumer = DurableConsumer(infra.js, SCAN_EVENTS_CONSUMER, parts.on_scan_event)
    binding = ServiceBinding(
        SERVICE_NAME, parts.servicer, threat_pb2_grpc.add_ThreatServiceServicer_to_server
    )
    return Runtime("threat", settings, [binding], tasks=[consumer.run], closers=[infra.close], infra=infra)
