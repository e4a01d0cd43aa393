"""Connections the gateway holds: one gRPC channel per service, NATS, the store.

``connect`` opens them all for the app's lifespan; tests pass ``create_app`` another
factory of ``Connections`` (stub clients, a fixed authenticator) instead.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass

import grpc
import structlog
from google.protobuf.message import DecodeError
from grpc_health.v1 import health_pb2_grpc
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from pymongo import AsyncMongoClient

from rampart.ai.v1 import ai_pb2_grpc
from rampart.auth.v1 import auth_pb2, auth_pb2_grpc
from rampart.lib.catalogue import subjects
from rampart.lib.events import connect_nats
from rampart.lib.grpcclient import open_channel
from rampart.lib.store import Document, connect_store
from rampart.lib.tls import TlsFiles
from rampart.report.v1 import report_pb2_grpc
from rampart.scan.v1 import scan_pb2_grpc
from rampart.threat.v1 import threat_pb2_grpc
from rampart_gateway.principal import Authenticator
from rampart_gateway.settings import GatewaySettings

log = structlog.get_logger(__name__)
WORKER_HEARTBEATS = subjects.WORKER_HEARTBEAT
WORKER_SILENCE = 6.0  # seconds without a heartbeat before a worker counts as gone
# report-service answers with whole files (exports: up to 10,000 records, docs/exports.md).
RECEIVE_LIMITS = {"report": 64 * 1024 * 1024}


class ServiceClients:
    """gRPC channels and health stubs for the five services, keyed by service name."""

    def __init__(self, addresses: dict[str, str], tls: TlsFiles | None = None) -> None:
        self.channels: dict[str, grpc.aio.Channel] = {
            name: open_channel(address, tls, RECEIVE_LIMITS.get(name)) for name, address in addresses.items()
        }
        self.health = {name: health_pb2_grpc.HealthStub(channel) for name, channel in self.channels.items()}
        self.auth = auth_pb2_grpc.AuthServiceStub(self.channels["auth"])
        self.scan = scan_pb2_grpc.ScanServiceStub(self.channels["scan"])
        self.threat = threat_pb2_grpc.ThreatServiceStub(self.channels["threat"])
        self.report = report_pb2_grpc.ReportServiceStub(self.channels["report"])
        self.ai = ai_pb2_grpc.AiServiceStub(self.channels["ai"])

    async def close(self) -> None:
        await asyncio.gather(*(channel.close() for channel in self.channels.values()))


CLOSE_ATTEMPTS = 40  # x 0.25 s: how long a shutdown waits for the broker connect to stop


class BrokerLink:
    """The gateway's NATS connection, made in the background so the gateway starts anyway.

    It listens for API-key revocations and evicts them from the authenticator's cache; after
    a reconnect (revocations may have been missed) it drops every cached key.
    """

    def __init__(self, url: str, authenticator: Authenticator, tls: TlsFiles | None = None) -> None:
        self._url = url
        self._tls = tls
        self._authenticator = authenticator
        self.nc: NATS | None = None
        self._task: asyncio.Task[None] | None = None
        self.workers: dict[str, tuple[float, int, int]] = {}

    def start(self) -> None:
        self._task = asyncio.create_task(self._connect())

    async def _connect(self) -> None:
        async def forget() -> None:
            self._authenticator.forget_all_keys()

        self.nc = await connect_nats(
            self._url, "rampart-gateway", deadline_seconds=math.inf, on_reconnect=forget, tls=self._tls
        )
        await self.nc.subscribe(subjects.KEY_REVOKED_ANY, cb=self._on_revoked)
        await self.nc.subscribe(WORKER_HEARTBEATS, cb=self._on_heartbeat)

    async def _on_heartbeat(self, message: Msg) -> None:
        try:
            beat = json.loads(message.data)
            self.workers[str(beat["worker"])] = (
                time.monotonic(),
                int(beat["running"]),
                int(beat["capacity"]),
            )
        except (ValueError, KeyError, TypeError):
            log.warning("undecodable worker heartbeat")

    def live_workers(self) -> list[tuple[int, int]]:
        """(running, capacity) of each scan worker heard from recently."""
        now = time.monotonic()
        return [
            (running, capacity)
            for seen, running, capacity in self.workers.values()
            if now - seen < WORKER_SILENCE
        ]

    async def _on_revoked(self, message: Msg) -> None:
        event = auth_pb2.ApiKeyRevoked()
        try:
            event.ParseFromString(message.data)
        except DecodeError:
            log.warning("undecodable revocation event", subject=message.subject)
            return
        self._authenticator.evict_key(event.key_id)
        log.info("api key evicted", key_id=event.key_id)

    async def check(self) -> None:
        if self.nc is None or not self.nc.is_connected:
            raise ConnectionError("not connected to NATS")
        await self.nc.jetstream().account_info()

    async def close(self) -> None:
        if self._task is not None:
            # nats-py's first-connect loop (endless reconnects) can lose a cancel that lands as an
            # attempt fails (asyncio.wait_for in 3.11), so cancel again until the task is done.
            for _ in range(CLOSE_ATTEMPTS):
                self._task.cancel()
                done, _ = await asyncio.wait({self._task}, timeout=0.25)
                if done:
                    break
        if self.nc is not None and self.nc.is_connected:
            await self.nc.close()


@dataclass(frozen=True)
class Connections:
    """What the gateway reaches outside itself: services, credential checks, the broker, the store."""

    clients: ServiceClients
    authenticator: Authenticator
    broker: BrokerLink
    mongo: AsyncMongoClient[Document]


Connect = Callable[[GatewaySettings, TlsFiles | None], AbstractAsyncContextManager[Connections]]


@asynccontextmanager
async def connect(settings: GatewaySettings, tls: TlsFiles | None) -> AsyncIterator[Connections]:
    """Open every connection for the app's lifespan, and close them all at its end."""
    clients = ServiceClients(settings.service_addresses(), tls)
    authenticator = Authenticator(
        clients.channels["auth"], settings.api_key_cache_seconds, settings.jwt_leeway_seconds
    )
    broker = BrokerLink(settings.nats_url, authenticator, tls)
    broker.start()
    mongo = connect_store(settings.mongodb_url, "rampart-gateway")
    try:
        yield Connections(clients, authenticator, broker, mongo)
    finally:
        await broker.close()
        await clients.close()
        await mongo.close()
