"""Connections the gateway holds: one gRPC channel per service, NATS, the store."""

from __future__ import annotations

import asyncio
import math

import grpc
import structlog
from grpc_health.v1 import health_pb2_grpc
from nats.aio.client import Client as NATS

from rampart.lib.events import connect_nats
from rampart.lib.grpcclient import open_channel

log = structlog.get_logger(__name__)


class ServiceClients:
    """gRPC channels and health stubs for the five services, keyed by service name."""

    def __init__(self, addresses: dict[str, str]) -> None:
        self.channels: dict[str, grpc.aio.Channel] = {
            name: open_channel(address) for name, address in addresses.items()
        }
        self.health = {
            name: health_pb2_grpc.HealthStub(channel) for name, channel in self.channels.items()
        }

    async def close(self) -> None:
        await asyncio.gather(*(channel.close() for channel in self.channels.values()))


class BrokerLink:
    """The gateway's NATS connection, made in the background so the gateway starts anyway."""

    def __init__(self, url: str) -> None:
        self._url = url
        self.nc: NATS | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._connect())

    async def _connect(self) -> None:
        self.nc = await connect_nats(self._url, "rampart-gateway", deadline_seconds=math.inf)

    async def check(self) -> None:
        if self.nc is None or not self.nc.is_connected:
            raise ConnectionError("not connected to NATS")
        await self.nc.jetstream().account_info()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self.nc is not None and self.nc.is_connected:
            await self.nc.close()
