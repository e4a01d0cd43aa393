"""System routes: health (public status, operator details) and Prometheus metrics."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import Response

from rampart_gateway.envelope import fail, ok
from rampart_gateway.operator import require_operator


async def metrics(request: Request) -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


async def health(request: Request) -> Response:
    """Public: status only (no dependency names, no errors), 200 healthy or 503."""
    report = await request.state.health.report(request.state)
    status = report["public_status"]  # a stale feed alone does not change it
    if status == "healthy":
        return ok(request, {"status": status})
    return fail(request, 503, "SERVICE_UNAVAILABLE", f"the platform is {status}", {"status": status})


async def health_details(request: Request) -> Response:
    """Operator only (Bearer HEALTH_TOKEN): every dependency with latency or a fixed reason, and the feeds."""
    require_operator(request, request.state.settings.health_token, "health details", "rampart-health")
    report = await request.state.health.report(request.state)
    if report["status"] == "healthy":
        return ok(request, report)
    problems = [
        f"{name} {'stale' if dep['status'] == 'stale' else 'down'}"
        for name, dep in sorted(report["dependencies"].items())
        if dep["status"] != "up"
    ]
    return fail(request, 503, "SERVICE_UNAVAILABLE", f"{report['status']}: {', '.join(problems)}", report)


async def api_health(request: Request) -> Response:
    return await health(request)
