"""Running a service process: infrastructure clients, the gRPC server, signals, shutdown."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog
from grpc_health.v1 import health_pb2
from grpc_health.v1._async import HealthServicer
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from rampart.lib.callers import STREAM_OWNERS, publish_regex
from rampart.lib.events import STREAMS, EventPublisher, connect_nats, ensure_streams
from rampart.lib.grpcserver import ServiceBinding, create_health_server, create_server
from rampart.lib.logging import configure_logging
from rampart.lib.metrics import serve_metrics
from rampart.lib.outbox import Outbox
from rampart.lib.settings import ServiceSettings, load_settings
from rampart.lib.store import Document, connect_store, service_database
from rampart.lib.tls import tls_files

log = structlog.get_logger(__name__)

Task = Callable[[], Coroutine[Any, Any, None]]


@dataclass
class Infra:
    """The store and broker clients one service process holds."""

    mongo: AsyncMongoClient[Document]
    db: AsyncDatabase[Document]
    nc: NATS
    js: JetStreamContext
    publishable: str | None = None  # a regex of the subjects the broker lets us publish

    def outbox(self) -> Outbox:
        return Outbox(self.db["outbox"], EventPublisher(self.js), subjects=self.publishable)

    async def close(self) -> None:
        # close, not drain: drain waits on pull subscriptions, and every publish here was
        # already acknowledged by JetStream, so nothing is left to flush.
        if not self.nc.is_closed:
            await self.nc.close()
        await self.mongo.close()


async def connect_infra(service: str, settings: ServiceSettings) -> Infra:
    tls = tls_files(settings)
    mongo = connect_store(settings.mongodb_url, f"rampart-{service}")
    nc = await connect_nats(settings.nats_url, f"rampart-{service}", tls=tls)
    js = nc.jetstream()
    # With TLS the broker lets each identity manage only the streams it owns (a scan worker,
    # which runs as "scan" here, owns none); plaintext development keeps creating them all.
    owned = STREAM_OWNERS.get(tls.identity(), ()) if tls is not None else tuple(s.name for s in STREAMS)
    await ensure_streams(js, tuple(spec for spec in STREAMS if spec.name in owned))
    publishable = publish_regex(tls.identity()) if tls is not None else None
    return Infra(mongo, service_database(mongo, service, settings.mongodb_database), nc, js, publishable)


@dataclass
class Runtime:
    """Everything ``serve`` needs: servicers, background tasks, and what to close."""

    service: str
    settings: ServiceSettings
    bindings: Sequence[ServiceBinding]
    tasks: Sequence[Task] = ()
    closers: list[Callable[[], Awaitable[Any]]] = field(default_factory=list)
    infra: Infra | None = None  # when set, health follows the store and the broker


async def serve(runtime: Runtime, stop: asyncio.Event | None = None) -> None:
    """Serve until SIGTERM/SIGINT (or ``stop``), then drain with a grace period."""
    settings = runtime.settings
    server, port, health = await create_server(
        runtime.service, runtime.bindings, settings.host, settings.port, tls_files(settings)
    )
    await server.start()
    probes = None
    if settings.health_port:
        probes, _ = await create_health_server(health, settings.host, settings.health_port)
        await probes.start()
    stop = _stop_on_signals(stop)
    background = _start(runtime.tasks)
    names = ["", *(binding.full_name for binding in runtime.bindings)]
    for name in names:
        await health.set(name, health_pb2.HealthCheckResponse.SERVING)
    if runtime.infra is not None:
        background.append(asyncio.create_task(watch_dependencies(runtime.infra, health, names)))
    log.info("serving", port=port, services=[b.full_name for b in runtime.bindings])
    await stop.wait()
    log.info("stopping", grace_seconds=settings.shutdown_grace_seconds)
    await health.enter_graceful_shutdown()
    await server.stop(settings.shutdown_grace_seconds)
    if probes is not None:
        await probes.stop(None)
    await _finish(runtime, background)


async def work(runtime: Runtime, stop: asyncio.Event | None = None) -> None:
    """Run a process that serves no RPC (a scan worker): its tasks until SIGTERM/SIGINT (or ``stop``)."""
    stop = _stop_on_signals(stop)
    background = _start(runtime.tasks)
    log.info("working", tasks=[task.__qualname__ for task in runtime.tasks])
    await stop.wait()
    log.info("stopping")
    await _finish(runtime, background)


def _stop_on_signals(stop: asyncio.Event | None) -> asyncio.Event:
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return stop


def _start(tasks: Sequence[Task]) -> list[asyncio.Task[None]]:
    return [asyncio.create_task(task(), name=task.__qualname__) for task in tasks]


async def _finish(runtime: Runtime, background: list[asyncio.Task[None]]) -> None:
    for task in background:
        task.cancel()
    await asyncio.gather(*background, return_exceptions=True)
    for close in runtime.closers:
        await close()
    log.info("stopped")


async def watch_dependencies(
    infra: Infra, health: HealthServicer, names: list[str], every: float = 1.0
) -> None:
    """SERVING only while the store answers and the broker is connected.

    The ping also clears connections a store restart left stale, so the first real request
    after an outage does not pay for them.
    """
    serving = True
    while True:
        await asyncio.sleep(every)
        try:
            await asyncio.wait_for(infra.mongo.admin.command("ping"), timeout=every)
            ok = infra.nc.is_connected
        except Exception:  # any failure to reach the store counts as down
            ok = False
        if ok != serving:
            serving = ok
            status = (
                health_pb2.HealthCheckResponse.SERVING if ok else health_pb2.HealthCheckResponse.NOT_SERVING
            )
            for name in names:
                await health.set(name, status)
            log.warning("dependencies " + ("back" if ok else "unreachable"))


def run_service(
    service: str,
    settings_cls: type[ServiceSettings],
    bootstrap: Callable[[ServiceSettings], Awaitable[Runtime]],
) -> None:
    """Process entry point shared by every service's ``__main__`` (and the scan workers)."""
    settings = load_settings(settings_cls)
    configure_logging(service, settings.log_level)
    if settings.metrics_port:
        serve_metrics(settings.host, settings.metrics_port)

    async def main() -> None:
        runtime = await bootstrap(settings)
        await (serve(runtime) if runtime.bindings else work(runtime))

    asyncio.run(main())
