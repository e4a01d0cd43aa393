"""Wires threat-service from its settings."""

from __future__ import annotations

from rampart.lib.catalogue import subjects
from rampart.lib.events import DurableConsumer
from rampart.lib.grpcserver import ServiceBinding
from rampart.lib.runtime import Runtime, connect_infra
from rampart.lib.scanevents import scan_events_consumer
from rampart.lib.settings import ServiceSettings
from rampart.threat.v1 import threat_pb2, threat_pb2_grpc
from rampart_threat.activity import ScanActivity
from rampart_threat.api import ThreatServicer

SERVICE_NAME = threat_pb2.DESCRIPTOR.services_by_name["ThreatService"].full_name
CONSUMER = scan_events_consumer(subjects.THREAT_SCAN_EVENTS_DURABLE)


async def bootstrap(settings: ServiceSettings) -> Runtime:
    infra = await connect_infra("threat", settings)
    activity = ScanActivity(infra.db)
    await activity.create_indexes()
    consumer = DurableConsumer(infra.js, CONSUMER, activity.handle)
    binding = ServiceBinding(
        SERVICE_NAME, ThreatServicer(activity), threat_pb2_grpc.add_ThreatServiceServicer_to_server
    )
    return Runtime("threat", settings, [binding], tasks=[consumer.run], closers=[infra.close], infra=infra)
