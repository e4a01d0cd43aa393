"""Wires report-service from its settings; ``assemble`` takes any repositories, so tests pass fakes."""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable
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
from rampart_report.alerts.consumers import WEBHOOK_CHANGE_EVENTS_CONSUMER, ScanChangedToWebhooks
from rampart_report.alerts.detector import (
    CHANGE_SCAN_EVENTS_CONSUMER,
    ChangeDetector,
    GrpcPreviousDiff,
    GrpcScanFindings,
)
from rampart_report.alerts.repository import (
    MemoryPreferencesRepository,
    MongoPreferencesRepository,
    PreferencesRepository,
)
from rampart_report.alerts.service import AlertService
from rampart_report.api import ReportServicer
from rampart_report.compliance.refresh import POSTURE_SCAN_EVENTS_CONSUMER
from rampart_report.compliance.service import ComplianceService
from rampart_report.compliance.wiring import build_compliance
from rampart_report.consumers import SCAN_EVENTS_CONSUMER, ScanEventHandler
from rampart_report.exports.fakes import MemoryFindings, MemoryRecords, MemoryScans
from rampart_report.exports.service import ExportService
from rampart_report.exports.sources import GrpcFindingSource, GrpcScanSource, GrpcVulnerabilitySource
from rampart_report.reports.service import ReportService
from rampart_report.reports.sources import GrpcDiffSource, GrpcScanFinder
from rampart_report.reports.wiring import build_reports
from rampart_report.repository import MongoTimelineRepository, TimelineRepository
from rampart_report.service import TimelineService
from rampart_report.settings import ReportSettings
from rampart_report.webhooks.consumers import (
    WEBHOOK_COMPLIANCE_EVENTS_CONSUMER,
    WEBHOOK_INCIDENT_EVENTS_CONSUMER,
    WEBHOOK_REPORT_EVENTS_CONSUMER,
    WEBHOOK_SCAN_EVENTS_CONSUMER,
    ComplianceEventsToWebhooks,
    IncidentEventsToWebhooks,
    ReportEventsToWebhooks,
    ScanEventsToWebhooks,
)
from rampart_report.webhooks.dispatcher import Dispatcher, RetrySchedule
from rampart_report.webhooks.domain import HealthPolicy, Webhook
from rampart_report.webhooks.notices import DisabledNotifier, Publish
from rampart_report.webhooks.repository import MongoWebhookRepository, WebhookRepository
from rampart_report.webhooks.secretbox import SecretBox
from rampart_report.webhooks.sender import Sender, SenderLimits
from rampart_report.webhooks.service import WebhookService
from rampart_report.webhooks.urlguard import UrlPolicy, hosts_resolver, system_resolver

SERVICE_NAME = report_pb2.DESCRIPTOR.services_by_name["ReportService"].full_name


@dataclass(frozen=True)
class Parts:
    """The entry points of report-service around its service layer."""

    servicer: ReportServicer
    on_scan_event: ScanEventHandler
    webhooks: WebhookService
    dispatcher: Dispatcher
    on_scan_event_for_webhooks: ScanEventsToWebhooks
    on_incident_event: IncidentEventsToWebhooks
    on_compliance_event: ComplianceEventsToWebhooks
    alerts: AlertService
    on_scan_changed: ScanChangedToWebhooks
    on_report_event: ReportEventsToWebhooks


def webhook_parts(
    settings: ReportSettings,
    repository: WebhookRepository,
    policy: UrlPolicy | None = None,
    tls: ssl.SSLContext | None = None,
    publish: Publish | None = None,
    clock: Callable[[], float] = time.time,
) -> tuple[WebhookService, Dispatcher]:
    """The webhook use cases and the dispatcher they wake (tests pass a resolver or a CA)."""
    box = SecretBox(settings.secret_key())
    policy = policy or UrlPolicy(
        allow_networks=settings.allow_networks(),
        deny_networks=settings.deny_networks(),
        allow_ports=settings.allow_ports(),
        resolver=hosts_resolver if settings.webhook_resolver == "hosts" else system_resolver,
    )
    limits = SenderLimits(
        connect_timeout=settings.webhook_connect_timeout_seconds,
        total_timeout=settings.webhook_timeout_seconds,
        response_cap=settings.webhook_response_cap_bytes,
    )
    schedule = RetrySchedule(
        base_seconds=settings.webhook_retry_base_seconds,
        cap_seconds=settings.webhook_retry_cap_seconds,
        max_attempts=settings.webhook_max_attempts,
        window_seconds=settings.webhook_retry_window_seconds,
    )
    health = HealthPolicy(settings.webhook_disable_after_seconds, settings.webhook_disable_min_failures)
    notifier: list[DisabledNotifier] = []  # the service is built after the dispatcher it wakes

    async def on_disabled(webhook: Webhook) -> None:
        await notifier[0](webhook)

    dispatcher = Dispatcher(
        repository,
        box,
        policy,
        Sender(limits, tls),
        schedule,
        lease_seconds=2 * settings.webhook_timeout_seconds + 5.0,
        concurrency=settings.webhook_concurrency,
        per_endpoint=settings.webhook_per_endpoint_concurrency,
        poll_seconds=settings.webhook_poll_seconds,
        clock=clock,
        health=health,
        on_disabled=on_disabled,
    )
    webhooks = WebhookService(
        repository, box, policy, settings.webhook_rotation_grace_seconds, notify=dispatcher.wake, clock=clock
    )
    notifier.append(DisabledNotifier(webhooks, publish))
    return webhooks, dispatcher


def assemble(
    repository: TimelineRepository,
    webhook_repository: WebhookRepository,
    settings: ReportSettings,
    policy: UrlPolicy | None = None,
    *,
    exports: ExportService | None = None,
    compliance: ComplianceService | None = None,
    publish: Publish | None = None,
    reports: ReportService | None = None,
    alert_repository: PreferencesRepository | None = None,
) -> Parts:
    """Without ``exports`` (unit tests of the rest), exports read empty in-memory sources."""
    timelines = TimelineService(repository)
    webhooks, dispatcher = webhook_parts(settings, webhook_repository, policy, publish=publish)
    exports = exports or ExportService(MemoryScans(), MemoryFindings(), MemoryRecords())
    alerts = AlertService(alert_repository or MemoryPreferencesRepository())
    return Parts(
        ReportServicer(timelines, webhooks, exports, compliance, reports, alerts),
        ScanEventHandler(timelines),
        webhooks,
        dispatcher,
        ScanEventsToWebhooks(webhooks),
        IncidentEventsToWebhooks(webhooks),
        ComplianceEventsToWebhooks(webhooks),
        alerts,
        ScanChangedToWebhooks(alerts, webhooks),
        ReportEventsToWebhooks(webhooks),
    )


async def bootstrap(settings: ServiceSettings) -> Runtime:
    assert isinstance(settings, ReportSettings)
    infra = await connect_infra("report", settings)
    repository = MongoTimelineRepository(infra.db)
    await repository.create_indexes()
    webhook_repository = MongoWebhookRepository(infra.db)
    await webhook_repository.create_indexes()
    tls = tls_files(settings)
    scan_channel = open_channel(settings.scan_addr, tls)
    threat_channel = open_channel(settings.threat_addr, tls)
    exports = ExportService(
        GrpcScanSource(scan_pb2_grpc.ScanServiceStub(scan_channel)),
        GrpcFindingSource(threat_pb2_grpc.ThreatServiceStub(threat_channel)),
        GrpcVulnerabilitySource(threat_pb2_grpc.ThreatServiceStub(threat_channel)),
    )
    alert_repository = MongoPreferencesRepository(infra.db)
    compliance = await build_compliance(settings, infra)
    scan_stub = scan_pb2_grpc.ScanServiceStub(scan_channel)
    reports = await build_reports(
        settings,
        infra,
        exports,
        compliance.service,
        GrpcDiffSource(scan_stub),
        GrpcScanFinder(scan_stub, threat_pb2_grpc.ThreatServiceStub(threat_channel)),
    )
    # webhook.disabled goes through the outbox too (compliance's outbox task relays what is left)
    parts = assemble(
        repository,
        webhook_repository,
        settings,
        exports=exports,
        compliance=compliance.service,
        publish=infra.outbox().add,
        reports=reports.service,
        alert_repository=alert_repository,
    )
    detector = ChangeDetector(
        GrpcPreviousDiff(scan_stub),
        GrpcScanFindings(threat_pb2_grpc.ThreatServiceStub(threat_channel)),
        infra.outbox().add,
    )
    consumers = [
        DurableConsumer(infra.js, SCAN_EVENTS_CONSUMER, parts.on_scan_event),
        DurableConsumer(infra.js, WEBHOOK_SCAN_EVENTS_CONSUMER, parts.on_scan_event_for_webhooks),
        DurableConsumer(infra.js, WEBHOOK_INCIDENT_EVENTS_CONSUMER, parts.on_incident_event),
        DurableConsumer(infra.js, WEBHOOK_COMPLIANCE_EVENTS_CONSUMER, parts.on_compliance_event),
        DurableConsumer(infra.js, POSTURE_SCAN_EVENTS_CONSUMER, compliance.refresher),
        DurableConsumer(infra.js, CHANGE_SCAN_EVENTS_CONSUMER, detector),  # scan.changed (issue 13)
        DurableConsumer(infra.js, WEBHOOK_CHANGE_EVENTS_CONSUMER, parts.on_scan_changed),
        DurableConsumer(infra.js, WEBHOOK_REPORT_EVENTS_CONSUMER, parts.on_report_event),
    ]
    binding = ServiceBinding(
        SERVICE_NAME, parts.servicer, report_pb2_grpc.add_ReportServiceServicer_to_server
    )
    return Runtime(
        "report",
        settings,
        [binding],
        tasks=[
            *(consumer.run for consumer in consumers),
            parts.dispatcher.run,
            *compliance.tasks,
            *reports.tasks,
        ],
        closers=[
            *compliance.closers,
            *reports.closers,
            infra.close,
            scan_channel.close,
            threat_channel.close,
        ],
        infra=infra,
    )
