"""Wires threat-service from its settings; ``assemble`` takes any repository, so tests pass a fake."""

from __future__ import annotations

from dataclasses import dataclass

from rampart.lib.events import DurableConsumer
from rampart.lib.grpcserver import ServiceBinding
from rampart.lib.runtime import Runtime, connect_infra
from rampart.lib.settings import ServiceSettings
from rampart.threat.v1 import threat_pb2, threat_pb2_grpc
from rampart_threat.analysis.assets import AssetLookup, InventoryAssetLookup
from rampart_threat.analysis.engine import EngineConfig
from rampart_threat.analysis.events import AnalysisPublisher, OutboxAnalysisPublisher
from rampart_threat.analysis.feeds import IndicatorLookup
from rampart_threat.analysis.repository import (
    AnalysisRepository,
    InMemoryAnalysisRepository,
    MongoAnalysisRepository,
)
from rampart_threat.analysis.sandbox import SandboxLimits
from rampart_threat.analysis.service import AnalysisService
from rampart_threat.api import ThreatServicer
from rampart_threat.assets.consumers import ASSET_EVENTS_CONSUMER, AssetRecorder
from rampart_threat.assets.repository import MongoAssetRepository
from rampart_threat.assets.service import AssetService
from rampart_threat.assets.wiring import asset_parts
from rampart_threat.consumers import SCAN_EVENTS_CONSUMER, ScanEventBatches, ScanEventHandler
from rampart_threat.feeds.repository import MongoFeedRepository
from rampart_threat.feeds.service import FeedService
from rampart_threat.findings.ledger import MongoFindingLedger
from rampart_threat.findings.pipeline import FindingPipeline
from rampart_threat.findings.service import VulnerabilityLedger
from rampart_threat.findings.source import make_finding_source
from rampart_threat.findings.tally import MongoScanTally, ScanTally
from rampart_threat.findings.wiring import finding_pipeline
from rampart_threat.incidents.consumers import ANALYSES_CONSUMER, AnalysisEventHandler
from rampart_threat.incidents.repository import MongoIncidentRepository
from rampart_threat.incidents.triage import SlaTable
from rampart_threat.incidents.wiring import IncidentParts, configured_rules, incident_parts, notifiers
from rampart_threat.intel.service import IntelService
from rampart_threat.intel.store import InMemoryIntelStore, MongoIntelStore
from rampart_threat.knowledge.service import EmptyCatalog, KnowledgeService
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
    on_asset_event: AssetRecorder  # the inventory's own durable on the scan events
    assets: AssetService  # the inventory; the findings ledger reports open findings per host to it


def assemble(
    repository: ActivityRepository,
    *,
    incidents: IncidentParts,
    knowledge: FeedService,
    catalog: KnowledgeService | None = None,
    analyses: AnalysisRepository | None = None,
    intel: IntelService | None = None,
    feeds: IndicatorLookup | None = None,
    analysis_config: EngineConfig | None = None,
    sandbox: SandboxLimits | None = None,
    publisher: AnalysisPublisher | None = None,
    assets: AssetLookup | None = None,
    vulnerabilities: VulnerabilityLedger | None = None,
    findings: FindingPipeline | None = None,
    scan_findings: ScanTally | None = None,
) -> Parts:
    """``feeds`` defaults to ``intel`` (the imported feeds and the organisations' lists);
    ``assets`` to none (no analysis matches an asset); ``vulnerabilities`` to a ledger on an
    empty in-memory store. The asset inventory is the one incidents link."""
    activity = ActivityService(repository)
    intel = intel or IntelService(InMemoryIntelStore())
    empty = KnowledgeService(EmptyCatalog(), knowledge)
    analysis = AnalysisService(
        analyses or InMemoryAnalysisRepository(), feeds or intel, analysis_config, sandbox, publisher, assets
    )
    inventory = asset_parts(incidents.inventory)
    return Parts(
        ThreatServicer(
            activity,
            analysis,
            incidents.service,
            knowledge,
            intel,
            catalog or empty,
            inventory.service,
            vulnerabilities=vulnerabilities,
            scan_findings=scan_findings,
        ),
        ScanEventHandler(activity, findings),
        incidents.on_analysis,
        inventory.recorder,
        inventory.service,
    )


def analysis_settings(settings: ServiceSettings) -> tuple[EngineConfig, SandboxLimits]:
    """The analysis part of threat-service's settings (defaults when given plain ServiceSettings)."""
    if not isinstance(settings, ThreatSettings):
        return EngineConfig(), SandboxLimits()
    config = EngineConfig(
        brands=settings.threat_analysis_brands,
        rules_dir=settings.threat_analysis_rules_dir,
        maxmind_asn=settings.threat_maxmind_asn_db,
        maxmind_city=settings.threat_maxmind_city_db,
    )
    wall = settings.threat_sandbox_seconds
    limits = SandboxLimits(wall, max(1, int(wall * 0.75)), settings.threat_sandbox_memory_mb * 1024 * 1024)
    return config, limits


ASSET_LINGER_SECONDS = 0.5


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
    catalog = KnowledgeService(feed_store, feeds)
    await catalog.refresh()
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
    # Also the finding pipeline's FindingLedger; it keeps each asset's open findings by severity.
    vulnerabilities = MongoFindingLedger(infra.db, assets=AssetService(asset_store))
    await vulnerabilities.create_indexes()
    analysis_store = MongoAnalysisRepository(infra.db)
    await analysis_store.create_indexes()
    config, limits = analysis_settings(settings)
    scan_findings = MongoScanTally(infra.db)
    await scan_findings.create_indexes()
    intel_store = MongoIntelStore(infra.db)
    await intel_store.create_indexes()
    intel = IntelService(intel_store, feeds_dir=threat.feeds_dir)
    await intel.reload()  # the active generation of every source; an import reloads it again
    parts = assemble(
        repository,
        incidents=incidents,
        knowledge=feeds,
        catalog=catalog,
        analyses=analysis_store,
        intel=intel,
        analysis_config=config,
        sandbox=limits,
        publisher=OutboxAnalysisPublisher(outbox),
        assets=InventoryAssetLookup(asset_store),
        vulnerabilities=vulnerabilities,
        findings=finding_pipeline(
            scan_findings,
            outbox,
            source=make_finding_source(catalog),
            ledger=vulnerabilities,
            counts=vulnerabilities,
            kev=incidents.rules,  # the vulnerability.kev incident rules
        ),
        scan_findings=scan_findings,
    )
    consumer = ScanEventBatches(infra.js, SCAN_EVENTS_CONSUMER, parts.on_scan_event)
    analysis_events = DurableConsumer(infra.js, ANALYSES_CONSUMER, parts.on_analysis)
    # The inventory lingers between fetches (ASSET_LINGER_SECONDS): each fetch rewrites a host's asset
    # once, and a host with a thousand ports is a large document to rewrite for every few events.
    asset_events = ScanEventBatches(
        infra.js, ASSET_EVENTS_CONSUMER, parts.on_asset_event, linger=ASSET_LINGER_SECONDS
    )
    binding = ServiceBinding(
        SERVICE_NAME, parts.servicer, threat_pb2_grpc.add_ThreatServiceServicer_to_server
    )
    return Runtime(
        "threat",
        settings,
        [binding],
        tasks=[consumer.run, analysis_events.run, asset_events.run, outbox.run],
        closers=[infra.close],
        infra=infra,
    )
