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
from rampart_threat.feeds.repository import MongoFeedRepository
from rampart_threat.feeds.service import FeedService
from rampart_threat.repository import ActivityRepository, MongoActivityRepository
from rampart_threat.service import ActivityService
from rampart_threat.settings import ThreatSettings

SERVICE_NAME = threat_pb2.DESCRIPTOR.services_by_name["ThreatService"].full_name


@dataclass(frozen=True)
class Parts:
    """The entry points of threat-service around one service layer."""

    servicer: ThreatServicer
    on_scan_event: ScanEventHandler


def assemble(repository: ActivityRepository, feeds: FeedService) -> Parts:
    activity = ActivityService(repository)
    return Parts(ThreatServicer(activity, feeds), ScanEventHandler(activity))


async def bootstrap(settings: ServiceSettings) -> Runtime:
    infra = await connect_infra("threat", settings)
    repository = MongoActivityRepository(infra.db)
    await repository.create_indexes()
    feed_store = MongoFeedRepository(infra.db)
    await feed_store.create_indexes()
    threat = (
        settings
        if isinstance(settings, ThreatSettings)
        else ThreatSettings.model_validate(settings.model_dump())
    )
    feeds = FeedService(feed_store, threat.feeds_dir, threat.feed_stale_days)
    if threat.feeds_load_starter:
        await feeds.load_starter_if_empty()
    parts = assemble(repository, feeds)
    consumer = DurableConsumer(infra.js, SCAN_EVENTS_CONSUMER, parts.on_scan_event)
    binding = ServiceBinding(
        SERVICE_NAME, parts.servicer, threat_pb2_grpc.add_ThreatServiceServicer_to_server
    )
    return Runtime("threat", settings, [binding], tasks=[consumer.run], closers=[infra.close], infra=infra)
