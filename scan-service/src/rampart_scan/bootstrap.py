"""Wires scan-service (the gRPC API) from its settings; workers run from ``worker.py``."""

from __future__ import annotations

from rampart.lib.grpcserver import ServiceBinding
from rampart.lib.runtime import Runtime, connect_infra
from rampart.lib.settings import ServiceSettings
from rampart.scan.v1 import scan_pb2, scan_pb2_grpc
from rampart_scan.api import ScanServicer
from rampart_scan.durable import Sweeper
from rampart_scan.repository import ScanRepository
from rampart_scan.scope import ScopeBook
from rampart_scan.service import ScanCommands
from rampart_scan.settings import ScanSettings

SERVICE_NAME = scan_pb2.DESCRIPTOR.services_by_name["ScanService"].full_name


async def bootstrap(settings: ServiceSettings) -> Runtime:
    assert isinstance(settings, ScanSettings)
    infra = await connect_infra("scan", settings)
    repository = ScanRepository(infra.db)
    await repository.create_indexes()
    outbox = infra.outbox()
    await outbox.create_indexes()
    scopes = ScopeBook(settings.scan_scope_file, settings.platform_networks(), settings.default_scope())
    commands = ScanCommands(repository, outbox, scopes, settings, infra.nc)
    binding = ServiceBinding(
        SERVICE_NAME, ScanServicer(commands), scan_pb2_grpc.add_ScanServiceServicer_to_server
    )
    sweeper = Sweeper(repository, outbox, settings.sweep_seconds, settings.requeue_after_seconds)
    return Runtime(
        "scan", settings, [binding], tasks=[outbox.run, sweeper.run], closers=[infra.close], infra=infra
    )
