"""The Starlette application: lifespan-made clients, middleware, routes, error handlers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute

from rampart.lib.store import connect_store
from rampart.lib.tls import TlsFiles
from rampart_gateway import schemas
from rampart_gateway.account_cache import AccountCache
from rampart_gateway.bodylimit import BodyLimitMiddleware
from rampart_gateway.clients import BrokerLink, ServiceClients
from rampart_gateway.docs import docs_routes
from rampart_gateway.errors import EXCEPTION_HANDLERS
from rampart_gateway.frontdoor import FrontDoorMiddleware
from rampart_gateway.health import VERSION, HealthChecks, health, health_details
from rampart_gateway.middleware import RequestContextMiddleware
from rampart_gateway.openapi import build_openapi
from rampart_gateway.operations import Operation
from rampart_gateway.principal import Authenticator
from rampart_gateway.proxies import TrustedProxyMiddleware
from rampart_gateway.ratelimit import RateLimits
from rampart_gateway.routes_account import OPERATIONS as ACCOUNT_OPERATIONS
from rampart_gateway.routes_scans import OPERATIONS as SCAN_OPERATIONS
from rampart_gateway.routes_scans import scan_websocket
from rampart_gateway.settings import GatewaySettings
from rampart_gateway.stream_slots import StreamSlots


async def metrics(request: Request) -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


async def api_health(request: Request) -> Response:
    return await health(request)


def operations() -> tuple[Operation, ...]:
    system = (
        Operation(
            "GET",
            "/api/v1/health",
            health,
            "Status of the platform only: healthy (200), degraded or unhealthy (503)",
            "system",
            auth=False,
            response=schemas.HealthStatus,
            errors=("SERVICE_UNAVAILABLE",),
        ),
        Operation(
            "GET",
            "/api/v1/health/details",
            health_details,
            "Every dependency with latency or a short reason; Bearer the operator's HEALTH_TOKEN",
            "system",
            auth=False,
            response=schemas.Health,
            errors=("INVALID_API_KEY", "SERVICE_UNAVAILABLE"),
        ),
        Operation(
            "GET",
            "/api/health",
            api_health,
            "Same as /api/v1/health",
            "system",
            auth=False,
            response=schemas.HealthStatus,
            errors=("SERVICE_UNAVAILABLE",),
        ),
        Operation(
            "GET",
            "/metrics",
            metrics,
            "Prometheus metrics",
            "system",
            auth=False,
            raw_response="text/plain",
        ),
    )
    return system + ACCOUNT_OPERATIONS + SCAN_OPERATIONS


def create_app(settings: GatewaySettings, tls: TlsFiles | None = None) -> Starlette:
    ops = operations()
    spec = build_openapi(ops, VERSION)

    async def openapi(request: Request) -> Response:
        return JSONResponse(spec)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        clients = ServiceClients(settings.service_addresses(), tls)
        authenticator = Authenticator(
            clients.channels["auth"], settings.api_key_cache_seconds, settings.jwt_leeway_seconds
        )
        broker = BrokerLink(settings.nats_url, authenticator, tls)
        broker.start()
        mongo = connect_store(settings.mongodb_url, "rampart-gateway")
        limits = RateLimits(
            settings.rate_limit_storage_uri,
            settings.anonymous_rate_limit,
            settings.register_rate_limit,
            settings.token_rate_limit,
        )
        account_cache = AccountCache(clients.auth, clients.scan)
        try:
            yield {
                "settings": settings,
                "clients": clients,
                "broker": broker,
                "mongo": mongo,
                "authenticator": authenticator,
                "limits": limits,
                "account_cache": account_cache,
                "health": HealthChecks(settings.health_cache_seconds),
                "stream_slots": StreamSlots(),
            }
        finally:
            await broker.close()
            await clients.close()
            await mongo.close()

    routes = [op.route() for op in ops]
    routes.append(Route("/openapi.json", openapi, methods=["GET"], include_in_schema=False))
    middleware = [
        Middleware(TrustedProxyMiddleware, trusted=settings.trusted_proxy_networks()),
        Middleware(RequestContextMiddleware),
    ]
    if settings.cors_origin_list():
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=settings.cors_origin_list(),
                allow_methods=["GET", "POST", "PATCH", "DELETE"],
                allow_headers=["authorization", "content-type", "x-request-id", "idempotency-key"],
                expose_headers=[
                    "x-request-id",
                    "x-ratelimit-limit",
                    "x-ratelimit-remaining",
                    "x-ratelimit-reset",
                    "retry-after",
                ],
                max_age=600,
            )
        )
    middleware.append(Middleware(BodyLimitMiddleware))
    middleware.append(Middleware(FrontDoorMiddleware))
    return Starlette(
        routes=[*routes, WebSocketRoute("/ws/scans/{scan_id}", scan_websocket), *docs_routes()],
        middleware=middleware,
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )
