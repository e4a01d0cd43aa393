"""Concurrent SSE + WebSocket streams per organisation, capped by its plan.

The count lives in this gateway process: exact with one gateway replica. With N replicas
an organisation can hold up to N times its cap (a shared counter in Redis, like the rate
limiter's storage, would make it exact). A slot is released in ``finally`` whatever ends
the stream: the scan finished, the idle timeout, an error, or the client going away.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from sse_starlette import EventSourceResponse
from starlette.types import Receive, Scope, Send

from rampart_gateway.errors import ApiError
from rampart_gateway.principal import Principal
from rampart_gateway.ratelimit import UNLIMITED_PLAN

FALLBACK_CAP = 5  # a non-enterprise plan that says 0 (an older auth-service): never unlimited


def stream_cap(principal: Principal) -> int | None:
    """How many streams the caller's organisation may hold open; None: no cap (enterprise, 0)."""
    cap = int(principal.plan.concurrent_streams)
    if cap > 0:
        return cap
    return None if principal.plan.name == UNLIMITED_PLAN else FALLBACK_CAP


class Slot:
    """One open stream; release() may be called any number of times."""

    def __init__(self, slots: StreamSlots, org_id: str) -> None:
        self._slots = slots
        self._org_id: str | None = org_id

    def release(self) -> None:
        if self._org_id is not None:
            self._slots.release(self._org_id)
            self._org_id = None


class StreamSlots:
    """Open streams per organisation in this process."""

    def __init__(self) -> None:
        self._open: Counter[str] = Counter()

    def open_streams(self, org_id: str) -> int:
        return self._open[org_id]

    def acquire(self, principal: Principal) -> Slot:
        """A slot, or 429 CONCURRENT_LIMIT_EXCEEDED when the organisation holds its cap."""
        org_id = principal.owner.org_id
        cap = stream_cap(principal)
        if cap is not None and self._open[org_id] >= cap:
            raise ApiError(
                "CONCURRENT_LIMIT_EXCEEDED",
                f"your plan allows {cap} open streams at a time; close one and retry",
                {"limit": cap, "resource": "streams"},
            )
        self._open[org_id] += 1
        return Slot(self, org_id)

    def release(self, org_id: str) -> None:
        self._open[org_id] -= 1
        if self._open[org_id] <= 0:
            del self._open[org_id]


class HeldEventSource(EventSourceResponse):
    """An SSE response that gives its stream slot back when it ends, however it ends."""

    def __init__(self, slot: Slot, *args: Any, **kwargs: Any) -> None:
        try:
            super().__init__(*args, **kwargs)
        except BaseException:
            slot.release()
            raise
        self._slot = slot

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._slot.release()
