"""The system operations (public, no credential): health and metrics; docs pages as extra routes."""

from __future__ import annotations

from starlette.routing import BaseRoute

from rampart_gateway.api.system import schemas
from rampart_gateway.api.system.routes import api_health, health, health_details, metrics
from rampart_gateway.docs import docs_routes
from rampart_gateway.operations import Operation

OPERATIONS = (
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

ROUTES: tuple[BaseRoute, ...] = tuple(docs_routes())  # Swagger UI, ReDoc and their assets
