"""``GET /api/v1/health``: every dependency checked at once, each with its own deadline."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from importlib.metadata import version
from typing import Any

from grpc_health.v1 import health_pb2
from starlette.requests import Request
from starlette.responses import Response

from rampart.lib.ids import iso, utcnow
from rampart.lib.store import ping
from rampart_gateway.envelope import fail, ok

VERSION = version("rampart-gateway")


async def _grpc_serving(stub: Any, deadline: float) -> None:
    reply = await stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=deadline)
    if reply.status != health_pb2.HealthCheckResponse.SERVING:
        raise ConnectionError(health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status))


async def _probe(check: Awaitable[dict[str, Any] | None], deadline: float) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        details = await asyncio.wait_for(check, deadline)
    except Exception as error:
        reason = type(error).__name__ if isinstance(error, TimeoutError) else str(error)
        return {"status": "down", "error": reason[:200] or type(error).__name__}
    return {"status": "up", "latency_ms": round((time.perf_counter() - started) * 1000, 2), **(details or {})}


async def _scan_workers(broker: Any) -> dict[str, Any]:
    """Up while at least one scan worker has announced itself recently."""
    workers = broker.live_workers()
    if not workers:
        raise ConnectionError("no scan worker heard from: scans would stay queued")
    return {
        "workers": len(workers),
        "running_scans": sum(r for r, _ in workers),
        "capacity": sum(c for _, c in workers),
    }


async def check_all(request: Request) -> dict[str, Any]:
    timeout: float = request.state.settings.health_timeout_seconds
    checks: dict[str, Awaitable[dict[str, Any] | None]] = {
        name: _grpc_serving(stub, timeout) for name, stub in request.state.clients.health.items()
    }
    checks["nats"] = request.state.broker.check()
    checks["store"] = ping(request.state.mongo)
    checks["scan_workers"] = _scan_workers(request.state.broker)
    results = await asyncio.gather(*(_probe(check, timeout) for check in checks.values()))
    dependencies = dict(zip(checks, results, strict=True))
    healthy = all(result["status"] == "up" for result in results)
    return {
        "status": "healthy" if healthy else "unhealthy",
        "version": VERSION,
        "timestamp": iso(utcnow()),
        "dependencies": dependencies,
    }


async def health(request: Request) -> Response:
    report = await check_all(request)
    if report["status"] == "healthy":
        return ok(request, report)
    down = sorted(name for name, dep in report["dependencies"].items() if dep["status"] != "up")
    message = f"unhealthy: {', '.join(down)} down"
    return fail(request, 503, "SERVICE_UNAVAILABLE", message, report)
