"""Wires scan-service from its settings."""

from __future__ import annotations

from rampart.lib.grpcserver import ServiceBinding
from rampart.lib.runtime import Runtime, connect_infra
from rampart.lib.settings import ServiceSettings
from rampart.scan.v1 import scan_pb2, scan_pb2_grpc
from rampart_scan.api import ScanServicer
from rampart_scan.repository import ScanRepository
from rampart_scan.service import ScanCommands

SERVICE_NAME = scan_pb2.DESCRIPTOR.services_by_name["ScanService"].full_name


async def bootstrap(settings: ServiceSettings) -> Runtime:
    infra = await connect_infra("scan", settings)
    repository = ScanRepository(infra.db)
    await repository.create_indexes()
    outbox = infra.outbox()
    await outbox.create_indexes()
    servicer = ScanServicer(ScanCommands(repository, outbox))
    binding = ServiceBinding(SERVICE_NAME, servicer, scan_pb2_grpc.add_ScanServiceServicer_to_server)
    return Runtime("scan", settings, [binding], tasks=[outbox.run], closers=[infra.close])
