"""The Starlette application, assembled from the domain packages under ``api/``.

Routes and the OpenAPI document are both built from the operations of ``DOMAINS``: a new
public domain is one package and one entry there. Clients are made in the lifespan.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from rampart.lib.tls import TlsFiles
from rampart_gateway.account_cache import AccountCache
from rampart_gateway.api import (
    account,
    ai,
    alerts,
    assets,
    compliance,
    incidents,
    reports,
    scans,
    schedules,
    system,
    threats,
    vulnerabilities,
    webhooks,
)
from rampart_gateway.api.system.health import VERSION, HealthChecks
from rampart_gateway.bodylimit import BodyLimitMiddleware
from rampart_gateway.clients import Connect, connect
from rampart_gateway.errors import EXCEPTION_HANDLERS
from rampart_gateway.frontdoor import FrontDoorMiddleware
from rampart_gateway.middleware import RequestContextMiddleware
from rampart_gateway.openapi import build_openapi
from rampart_gateway.operations import Domain, Operation
from rampart_gateway.proxies import TrustedProxyMiddleware
from rampart_gateway.ratelimit import RateLimits
from rampart_gateway.settings import GatewaySettings
from rampart_gateway.stream_slots import StreamSlots

DOMAINS: tuple[Domain, ...] = (
    system,
    account,
    scans,
    schedules,
    threats,
    vulnerabilities,
    incidents,
    assets,
    webhooks,
    reports,
    ai,
    compliance,
    alerts,
)


def operations() -> tuple[Operation, ...]:
    """Every public operation, in the order the OpenAPI document lists them."""
    return tuple(op for domain in DOMAINS for op in domain.OPERATIONS)


@functools.cache
def openapi_document() -> dict[str, Any]:
    """The OpenAPI document of ``operations()``, built once per process (it never changes)."""
    return build_openapi(operations(), VERSION)


def middleware(settings: GatewaySettings) -> list[Middleware]:
    """Outermost first: client address, request id, CORS, body limit, then the front door."""
    stack = [
        Middleware(TrustedProxyMiddleware, trusted=settings.trusted_proxy_networks()),
        Middleware(RequestContextMiddleware),
    ]
    if settings.cors_origin_list():
        stack.append(
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
    stack.append(Middleware(BodyLimitMiddleware))
    stack.append(Middleware(FrontDoorMiddleware))
    return stack


def create_app(
    settings: GatewaySettings, tls: TlsFiles | None = None, connections: Connect = connect
) -> Starlette:
    """The gateway; ``connections`` opens what it talks to (tests pass stubs, see tests/stubs.py)."""
    spec = openapi_document()

    async def openapi(request: Request) -> Response:
        return JSONResponse(spec)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        async with connections(settings, tls) as opened:
            yield {
                "settings": settings,
                "clients": opened.clients,
                "broker": opened.broker,
                "mongo": opened.mongo,
                "authenticator": opened.authenticator,
                "limits": RateLimits(
                    settings.rate_limit_storage_uri,
                    settings.anonymous_rate_limit,
                    settings.register_rate_limit,
                    settings.token_rate_limit,
                ),
                "account_cache": AccountCache(opened.clients.auth, opened.clients.scan),
                "health": HealthChecks(settings.health_cache_seconds),
                "stream_slots": StreamSlots(),
            }

    routes: list[BaseRoute] = [op.route() for op in operations()]
    routes += [route for domain in DOMAINS for route in domain.ROUTES]
    routes.append(Route("/openapi.json", openapi, methods=["GET"], include_in_schema=False))
    return Starlette(
        routes=routes,
        middleware=middleware(settings),
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )
