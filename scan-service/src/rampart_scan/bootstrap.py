"""Wires scan-service (the gRPC API) from its settings; workers are wired in ``worker.py``."""

from __future__ import annotations

from rampart.lib.grpcserver import ServiceBinding
from rampart.lib.ids import new_id
from rampart.lib.runtime import Runtime, connect_infra
from rampart.lib.settings import ServiceSettings
from rampart.scan.v1 import scan_pb2, scan_pb2_grpc
from rampart_scan.api import ScanServicer
from rampart_scan.authorise import TargetAuthoriser
from rampart_scan.commands import ScanCommands
from rampart_scan.durable import Sweeper
from rampart_scan.events import ScanEvents
from rampart_scan.interfaces import SystemClock
from rampart_scan.queries import ScanQueries
from rampart_scan.repository import ScanRepository
from rampart_scan.schedule_repository import ScheduleRepository
from rampart_scan.schedules import ScheduleCommands, Scheduler
from rampart_scan.scope import ScopeBook
from rampart_scan.settings import ScanSettings

SERVICE_NAME = scan_pb2.DESCRIPTOR.services_by_name["ScanService"].full_name


def authoriser(settings: ScanSettings) -> TargetAuthoriser:
    scopes = ScopeBook(settings.scan_scope_file, settings.platform_networks(), settings.default_scope())
    return TargetAuthoriser(scopes, settings)


async def bootstrap(settings: ServiceSettings) -> Runtime:
    assert isinstance(settings, ScanSettings)
    infra = await connect_infra("scan", settings)
    repository = ScanRepository(infra.db)
    await repository.create_indexes()
    outbox = infra.outbox()
    await outbox.create_indexes()
    commands = ScanCommands(repository, ScanEvents(outbox, nc=infra.nc), authoriser(settings), settings)
    schedules = ScheduleRepository(infra.db)
    await schedules.create_indexes()
    clock = SystemClock()
    servicer = ScanServicer(commands, ScanQueries(repository), ScheduleCommands(schedules, clock))
    scheduler = Scheduler(
        schedules,
        repository,
        commands,
        clock,
        holder=new_id("scheduler"),
        lease_seconds=settings.scheduler_lease_seconds,
        tick_seconds=settings.scheduler_tick_seconds,
        batch=settings.scheduler_batch,
        concurrency=settings.scheduler_concurrency,
    )
    binding = ServiceBinding(SERVICE_NAME, servicer, scan_pb2_grpc.add_ScanServiceServicer_to_server)
    sweeper = Sweeper(repository, outbox, settings.sweep_seconds, settings.requeue_after_seconds)
    return Runtime(
        "scan",
        settings,
        [binding],
        tasks=[outbox.run, sweeper.run, scheduler.run_forever],
        closers=[infra.close],
        infra=infra,
    )
