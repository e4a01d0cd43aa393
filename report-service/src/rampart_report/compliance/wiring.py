"""Builds the compliance service from report-service's settings and infrastructure."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from rampart.lib.grpcclient import open_channel
from rampart.lib.runtime import Infra, Task
from rampart.lib.tls import tls_files
from rampart.scan.v1 import scan_pb2_grpc
from rampart.threat.v1 import threat_pb2_grpc
from rampart_report.compliance.adapters import GrpcPayloadScanner, GrpcPostureSources, OutboxComplianceEvents
from rampart_report.compliance.catalogue import load_catalogue
from rampart_report.compliance.refresh import PostureRefresher
from rampart_report.compliance.repository import MongoComplianceRepository
from rampart_report.compliance.service import ComplianceService
from rampart_report.settings import ReportSettings


@dataclass(frozen=True)
class CompliancePart:
    service: ComplianceService
    refresher: PostureRefresher
    tasks: list[Task]
    closers: list[Callable[[], Awaitable[Any]]]


async def build_compliance(settings: ReportSettings, infra: Infra) -> CompliancePart:
    """The mapping is loaded and checked first: a broken mapping stops the service at start."""
    catalogue = load_catalogue(rules_dir=settings.compliance_rules_dir)
    repository = MongoComplianceRepository(infra.db)
    await repository.create_indexes()
    outbox = infra.outbox()
    await outbox.create_indexes()
    tls = tls_files(settings)
    threat_channel = open_channel(settings.threat_addr, tls)
    scan_channel = open_channel(settings.scan_addr, tls)
    threat = threat_pb2_grpc.ThreatServiceStub(threat_channel)
    names = {control.control_id: control.name for control in catalogue.controls()}
    service = ComplianceService(
        catalogue,
        repository,
        GrpcPostureSources(threat, scan_pb2_grpc.ScanServiceStub(scan_channel)),
        GrpcPayloadScanner(threat),
        OutboxComplianceEvents(outbox, names),
    )

    async def close() -> None:
        await threat_channel.close()
        await scan_channel.close()

    refresher = PostureRefresher(service.posture, debounce_seconds=settings.compliance_refresh_seconds)
    return CompliancePart(service, refresher, [outbox.run, refresher.run], [close])
