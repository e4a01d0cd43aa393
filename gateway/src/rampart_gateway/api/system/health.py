"""Health checks of every dependency, for the public status and the operator's report.

Every dependency is checked at once, each with its own deadline; the result is kept for
``HEALTH_CACHE_SECONDS`` and concurrent callers share one fan-out, so health costs the
platform at most one round of checks per interval however often it is asked. Failures
are logged with their text; callers only ever see a short fixed reason.

The ``feeds`` entry is threat-service's vulnerability feed status (``GetFeedStatus``) in
the same round: each source's snapshot date, records and staleness. A feed that holds
records but is older than threat-service's ``FEED_STALE_DAYS`` makes the entry ``stale``,
which degrades the report (never unhealthy: the platform still serves every request).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from importlib.metadata import version
from typing import Any

import grpc
import structlog
from grpc_health.v1 import health_pb2

from rampart.lib.ids import iso, utcnow
from rampart.lib.store import ping
from rampart.threat.v1 import threat_pb2
from rampart_gateway.api.vulnerabilities.views import feed_source

VERSION = version("rampart-gateway")
CORE = frozenset({"auth", "scan", "nats", "store"})  # without these no request can be served
log = structlog.get_logger(__name__)


class DependencyDown(Exception):
    """A check's own verdict; its message is fixed text, safe to show."""


def reason(error: BaseException) -> str:
    """A short fixed reason for a failed check: never the exception's text."""
    if isinstance(error, DependencyDown):
        return str(error)
    if isinstance(error, TimeoutError):
        return "timeout"
    if isinstance(error, grpc.aio.AioRpcError):
        return "timeout" if error.code() == grpc.StatusCode.DEADLINE_EXCEEDED else "unreachable"
    if isinstance(error, OSError):
        return "unreachable"
    return "check failed"


async def _grpc_serving(stub: Any, deadline: float) -> None:
    reply = await stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=deadline)
    if reply.status != health_pb2.HealthCheckResponse.SERVING:
        raise DependencyDown("not serving")


async def _probe(name: str, check: Awaitable[dict[str, Any] | None], deadline: float) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        details = await asyncio.wait_for(check, deadline)
    except Exception as error:
        log.warning("dependency down", dependency=name, error=f"{type(error).__name__}: {error}"[:300])
        return {"status": "down", "error": reason(error)}
    return {"status": "up", "latency_ms": round((time.perf_counter() - started) * 1000, 2), **(details or {})}


async def _scan_workers(broker: Any) -> dict[str, Any]:
    """Up while at least one scan worker has announced itself recently."""
    workers = broker.live_workers()
    if not workers:
        raise DependencyDown("no scan worker heard from: scans would stay queued")
    return {
        "workers": len(workers),
        "running_scans": sum(r for r, _ in workers),
        "capacity": sum(c for _, c in workers),
    }


STARTER_SOURCE = "starter"


async def _feeds(threat: Any, deadline: float) -> dict[str, Any]:
    """Each vulnerability feed's snapshot, records and staleness; stale only if it holds data.

    The shipped starter set ages by design (its date is shown): only imported feeds going stale
    degrade the report, so a fresh install is not degraded a week after its release.
    """
    reply = await threat.GetFeedStatus(threat_pb2.GetFeedStatusRequest(), timeout=deadline)
    sources = [feed_source(s) for s in reply.sources]
    stale = sorted(
        s["source"] for s in sources if s["stale"] and s["records"] > 0 and s["source"] != STARTER_SOURCE
    )
    return {
        "stale": stale,
        "stale_after_days": reply.stale_after_days,
        "sources": sources,
    }


async def _feeds_probe(threat: Any, deadline: float) -> dict[str, Any]:
    result = await _probe("feeds", _feeds(threat, deadline), deadline)
    if result["status"] == "up" and result["stale"]:
        result["status"] = "stale"
    return result


def overall(dependencies: dict[str, dict[str, Any]]) -> str:
    """Any core dependency down: unhealthy; anything else down or stale: degraded."""
    down = {name for name, dep in dependencies.items() if dep["status"] != "up"}
    return "healthy" if not down else "unhealthy" if down & CORE else "degraded"


async def check_all(state: Any) -> dict[str, Any]:
    timeout: float = state.settings.health_timeout_seconds
    checks: dict[str, Awaitable[dict[str, Any] | None]] = {
        name: _grpc_serving(stub, timeout) for name, stub in state.clients.health.items()
    }
    checks["nats"] = state.broker.check()
    checks["store"] = ping(state.mongo)
    checks["scan_workers"] = _scan_workers(state.broker)
    probes = {name: _probe(name, check, timeout) for name, check in checks.items()}
    probes["feeds"] = _feeds_probe(state.clients.threat, timeout)
    results = await asyncio.gather(*probes.values())
    dependencies = dict(zip(probes, results, strict=True))
    # a stale feed degrades the operator's report only: the public status (and a readiness
    # probe on it) still answers for the services, as docs/security/ops.md describes
    serving = {
        name: {**dep, "status": "up"} if dep["status"] == "stale" else dep
        for name, dep in dependencies.items()
    }
    return {
        "status": overall(dependencies),
        "public_status": overall(serving),
        "version": VERSION,
        "timestamp": iso(utcnow()),
        "dependencies": dependencies,
    }


class HealthChecks:
    """One fan-out at a time, its report kept for ``ttl`` seconds after it finished."""

    def __init__(self, ttl: float) -> None:
        self._ttl = ttl
        self._task: asyncio.Task[dict[str, Any]] | None = None
        self._finished = 0.0

    def _done(self, task: asyncio.Task[dict[str, Any]]) -> None:
        self._finished = time.monotonic()

    async def report(self, state: Any) -> dict[str, Any]:
        task = self._task
        stale = task is not None and task.done() and time.monotonic() - self._finished >= self._ttl
        if task is None or stale or (task.done() and task.exception() is not None):
            # its own task: a caller that goes away does not cancel the others' answer
            task = self._task = asyncio.create_task(check_all(state))
            task.add_done_callback(self._done)
        return await asyncio.shield(task)
