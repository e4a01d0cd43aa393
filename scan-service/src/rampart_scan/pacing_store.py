"""Rate caps shared by every worker: token buckets kept in the store, taken in batches.

A bucket is one document ``{_id, tokens, at, v}``: ``tokens`` were left at ``at`` (epoch
seconds) and refill at ``rate`` per second up to ``burst``. A worker takes a batch of tokens
with a compare-and-set on the version ``v`` (re-read and retried when another worker took some
in between), then hands them out locally, so a scan costs one store round trip per batch, not
per probe. Over any window the probes granted by all workers together are at most
``burst + rate x window`` (tokens a worker took and did not use are lost, never lent).
Clocks are wall-clock epoch seconds: nodes need NTP, as for leases.

The engine's pacing hook is ``Pacer`` (``engine/pacing.py`` once the engine's branch lands;
until then the same protocol is declared in ``interfaces``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from rampart_scan.domain import Scan
from rampart_scan.interfaces import Clock, Pacer, SystemClock
from rampart_scan.settings import ScanSettings


class StoreTokenBucket:
    """One shared bucket (``Pacer``): ``take(n)`` returns once ``n`` probes may go."""

    def __init__(
        self,
        collection: AsyncCollection[dict[str, Any]],
        key: str,
        rate: float,
        batch: int = 64,
        burst: float | None = None,
        clock: Clock | None = None,
    ) -> None:
        if rate <= 0:
            raise ValueError("a bucket needs a positive rate")
        self._collection = collection
        self._key = key
        self.rate = rate
        self.burst = max(1.0, burst if burst is not None else rate)  # one second's worth
        self._batch = max(1, batch)
        self._clock = clock or SystemClock()
        self._local = 0
        self.round_trips = 0

    async def take(self, n: int) -> None:
        while n > 0:
            used = min(n, self._local)
            self._local -= used
            n -= used
            if n > 0:
                self._local += await self._acquire(int(min(max(n, self._batch), self.burst)))

    async def _acquire(self, chunk: int) -> int:
        """Take ``chunk`` tokens from the shared document, waiting for the refill if needed."""
        while True:
            now = self._clock.time()
            self.round_trips += 1
            doc = await self._collection.find_one({"_id": self._key})
            if doc is None:
                try:
                    await self._collection.insert_one(
                        {"_id": self._key, "tokens": self.burst - chunk, "at": now, "v": 1}
                    )
                    return chunk
                except DuplicateKeyError:
                    continue  # another worker made it first
            elapsed = max(0.0, now - float(doc["at"]))
            tokens = min(self.burst, float(doc["tokens"]) + elapsed * self.rate)
            if tokens < chunk:
                await self._clock.sleep((chunk - tokens) / self.rate)
                continue
            taken = await self._collection.update_one(
                {"_id": self._key, "v": doc["v"]},
                {"$set": {"tokens": tokens - chunk, "at": max(now, float(doc["at"]))}, "$inc": {"v": 1}},
            )
            if taken.modified_count == 1:
                return chunk


class AllOf:
    """Several caps at once (the scan's, its organisation's, the platform's): each must grant."""

    def __init__(self, pacers: Sequence[Pacer]) -> None:
        self.pacers = list(pacers)

    async def take(self, n: int) -> None:
        for pacer in self.pacers:
            await pacer.take(n)


class Pacing:
    """A worker's buckets, one object per bucket key, so local batches serve every shard here."""

    def __init__(
        self,
        collection: AsyncCollection[dict[str, Any]],
        settings: ScanSettings,
        clock: Clock | None = None,
    ) -> None:
        self._collection = collection
        self._settings = settings
        self._clock = clock
        self._buckets: dict[str, StoreTokenBucket] = {}

    def _bucket(self, key: str, rate: float) -> StoreTokenBucket:
        bucket = self._buckets.get(key)
        if bucket is None or bucket.rate != rate:
            bucket = StoreTokenBucket(
                self._collection, key, rate, self._settings.pacing_batch, clock=self._clock
            )
            if len(self._buckets) > 10_000:
                self._buckets.clear()
            self._buckets[key] = bucket
        return bucket

    def pacer_for(self, scan: Scan) -> Pacer | None:
        """The caps that apply to ``scan``; None when none does (or it is a sandbox scan)."""
        if scan.owner.sandbox:
            return None
        caps = [
            (f"scan:{scan.id}", scan.spec.rate),
            (f"org:{scan.owner.org_id}", scan.org_rate),
            ("platform", self._settings.platform_probes_per_second),
        ]
        pacers: list[Pacer] = [self._bucket(key, rate) for key, rate in caps if rate > 0]
        if not pacers:
            return None
        return pacers[0] if len(pacers) == 1 else AllOf(pacers)
