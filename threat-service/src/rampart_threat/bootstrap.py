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
from rampart_threat.incidents.consumers import ANALYSES_CONSUMER, AnalysisEventHandler
from rampart_threat.incidents.repository import MongoAssetRepository, MongoIncidentRepository
from rampart_threat.incidents.triage import SlaTable
from rampart_threat.incidents.wiring import IncidentParts, configured_rules, incident_parts, notifiers
from rampart_threat.repository import ActivityRepository, MongoActivityRepository
from rampart_threat.service import ActivityService
from rampart_threat.settings import ThreatSettings

SERVICE_NAME = threat_pb2.DESCRIPTOR.services_by_name["ThreatService"].full_name


@dataclass(frozen=True)
class Parts:
    """The entry points of threat-service around one service layer."""

    servicer: ThreatServicer
    on_scan_event: ScanEventHandler
    on_analysis: AnalysisEventHandler


def assemble(repository: ActivityRepository, *, incidents: IncidentParts) -> Parts:
    activity = ActivityService(repository)
    return Parts(
        ThreatServicer(activity, incidents.service),
        ScanEventHandler(activity, incidents.record_assets),
        incidents.on_analysis,
    )


async def bootstrap(settings: ServiceSettings) -> Runtime:
    infra = await connect_infra("threat", settings)
    repository = MongoActivityRepository(infra.db)
    await repository.create_indexes()
    threat = (
        settings
        if isinstance(settings, ThreatSettings)
        else ThreatSettings.model_validate(settings.model_dump())
    )
    incident_store, asset_store = MongoIncidentRepository(infra.db), MongoAssetRepository(infra.db)
    await incident_store.create_indexes()
    await asset_store.create_indexes()
    outbox = infra.outbox()
    await outbox.create_indexes()
    incidents = incident_parts(
        incident_store,
        asset_store,
        notifiers(outbox, threat.smtp_url, threat.smtp_from, threat.incident_email_to),
        SlaTable.load(threat.incident_sla_file),
        configured_rules(threat.incident_rules_file),
    )
    parts = assemble(repository, incidents=incidents)
    consumer = DurableConsumer(infra.js, SCAN_EVENTS_CONSUMER, parts.on_scan_event)
    analyses = DurableConsumer(infra.js, ANALYSES_CONSUMER, parts.on_analysis)
    binding = ServiceBinding(
        SERVICE_NAME, parts.servicer, threat_pb2_grpc.add_ThreatServiceServicer_to_server
    )
    return Runtime(
        "threat",
        settings,
        [binding],
        tasks=[consumer.run, analyses.run, outbox.run],
        closers=[infra.close],
        infra=infra,
    )
