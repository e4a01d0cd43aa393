"""Posture recomputed in the background when an organisation's findings change, so
``compliance.changed`` (and the webhooks on it) fire without anyone reading compliance.

What changes findings: the end of a scan. threat-service records each finding as the scan goes and,
when it ends, resolves what the scan no longer saw, then publishes FINDINGS_SETTLED on
``scan.events.<scan_id>.findings_settled``. report-service's durable
``report-posture-scan-events`` (filter: that subject) marks the scan's organisation and world
(live / test) due for a recomputation ``debounce_seconds`` later; scans settling meanwhile fold into
the same recomputation. A failed recomputation (threat- or scan-service away) is tried again after
``retry_seconds``.

Not covered here: triage through the API (false positive, accepted risk) publishes no event; the
next read of the posture or the next settlement of a scan of that organisation records the change.
The mark is kept in memory once the event is acknowledged: a restart drops the marks not yet
computed, and the next settlement or read catches up (the posture is always computed from the
current records, so nothing is lost but time).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable

import structlog
from nats.aio.msg import Msg

from rampart.lib.catalogue import subjects
from rampart.lib.events import SCAN_EVENTS, ConsumerSpec, Outcome
from rampart.lib.scanevents import decode_scan_event
from rampart.scan.v1 import scan_pb2
from rampart_report.compliance import mappers
from rampart_report.compliance.domain import Tenant

log = structlog.get_logger(__name__)

POSTURE_SCAN_EVENTS_CONSUMER = ConsumerSpec(
    SCAN_EVENTS,
    durable=subjects.REPORT_POSTURE_SCAN_EVENTS_DURABLE,
    filter_subject=subjects.SCAN_FINDINGS_SETTLED,
)


class PostureRefresher:
    """Marks organisations due (``__call__``, the consumer's handler) and recomputes them (``run``)."""

    def __init__(
        self,
        recompute: Callable[[Tenant], Awaitable[object]],
        debounce_seconds: float = 30.0,
        retry_seconds: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._recompute = recompute
        self._debounce = debounce_seconds
        self._retry = retry_seconds
        self._clock = clock
        self._due: dict[tuple[str, str], tuple[float, Tenant]] = {}
        self._wake = asyncio.Event()

    def pending(self) -> dict[tuple[str, str], float]:
        return {key: at for key, (at, _) in self._due.items()}

    async def __call__(self, message: Msg) -> Outcome:
        event = decode_scan_event(message)
        if event.type != scan_pb2.SCAN_EVENT_TYPE_FINDINGS_SETTLED:
            return Outcome.APPLIED
        self.mark(mappers.tenant(event.owner))
        return Outcome.APPLIED

    def mark(self, tenant: Tenant) -> None:
        """Due in ``debounce_seconds``, unless it is already due (then the earlier time stands)."""
        key = (tenant.org_id, tenant.mode)
        if key not in self._due:
            self._due[key] = (self._clock() + self._debounce, tenant)
            self._wake.set()

    async def run_due(self) -> int:
        """Recompute every organisation whose time has come; how many were computed."""
        now = self._clock()
        done = 0
        for key, (at, tenant) in list(self._due.items()):
            if at > now:
                continue
            del self._due[key]
            try:
                await self._recompute(tenant)
                done += 1
            except Exception:
                log.warning("posture recomputation failed", org_id=tenant.org_id, exc_info=True)
                self._due.setdefault(key, (self._clock() + self._retry, tenant))
        return done

    async def run(self) -> None:
        while True:
            self._wake.clear()
            await self.run_due()
            wait = min((at for at, _ in self._due.values()), default=None)
            timeout = None if wait is None else max(0.0, wait - self._clock())
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._wake.wait()
