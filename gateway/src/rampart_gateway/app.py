"""The Starlette application: lifespan-made clients, middleware, routes, error handlers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from rampart.lib.store import connect_store
from rampart_gateway.clients import BrokerLink, ServiceClients
from rampart_gateway.errors import EXCEPTION_HANDLERS
from rampart_gateway.health import health
from rampart_gateway.middleware import RequestContextMiddleware
from rampart_gateway.settings import GatewaySettings


async def metrics(request: Request) -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def create_app(settings: GatewaySettings) -> Starlette:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        clients = ServiceClients(settings.service_addresses())
        broker = BrokerLink(settings.nats_url)
        broker.start()
        mongo = connect_store(settings.mongodb_url, "rampart-gateway")
        try:
            yield {"settings": settings, "clients": clients, "broker": broker, "mongo": mongo}
        finally:
            await broker.close()
            await clients.close()
            await mongo.close()

    routes = [
        Route("/api/v1/health", health, methods=["GET"]),
        Route("/api/health", health, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]
    return Starlette(
        routes=routes,
        middleware=[Middleware(RequestContextMiddleware)],
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )
