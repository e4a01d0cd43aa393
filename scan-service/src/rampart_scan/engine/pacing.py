"""Probe pacing: how many probes per second a scan may send.

The engine asks a ``Pacer`` before sending probes, in batches (``take(n)`` blocks until ``n``
probes may go). ``TokenBucket`` paces one process; the platform passes a pacer shared by every
worker of a scan (or an organisation) where the rate must hold across processes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol


class Pacer(Protocol):
    """Grants permission to send probes; ``take`` returns once ``n`` probes may be sent."""

    async def take(self, n: int) -> None: ...


class TokenBucket:
    """A local token bucket: ``rate`` probes per second, bursts of at most ``burst``."""

    def __init__(
        self,
        rate: float,
        burst: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        # A tenth of a second's worth by default: smooth, yet batches stay cheap.
        self.burst = burst if burst is not None else max(1.0, rate / 10)
        self._clock, self._sleep = clock, sleep
        self._tokens = self.burst
        self._stamp = clock()
        self._lock = asyncio.Lock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    async def take(self, n: int) -> None:
        """Wait until ``n`` tokens are there and spend them; FIFO among waiters."""
        if n <= 0:
            return
        async with self._lock:
            # A request larger than the bucket is served by going into debt: it waits for the
            # whole amount, so the long-run rate still holds.
            self._refill()
            self._tokens -= n
            if self._tokens < 0:
                await self._sleep(-self._tokens / self.rate)
                self._refill()


class AllOf:
    """Several pacers at once (a scan's own rate and a shared cap): waits for each in turn."""

    def __init__(self, pacers: Sequence[Pacer]) -> None:
        self.pacers = list(pacers)

    async def take(self, n: int) -> None:
        for pacer in self.pacers:
            await pacer.take(n)


def pacer_for(rate: float | None, shared: Pacer | None) -> Pacer | None:
    """The pacer a scan call obeys: its own ``rate``, a shared pacer, both, or none."""
    pacers: list[Pacer] = []
    if rate is not None:
        pacers.append(TokenBucket(rate))
    if shared is not None:
        pacers.append(shared)
    if not pacers:
        return None
    return pacers[0] if len(pacers) == 1 else AllOf(pacers)
