"""Rate caps shared through the store: two workers' buckets never grant more than burst + rate x time.

Against the real store (nx-27017); time is a fake clock that moves only when a bucket waits, so
the bound is checked exactly, not with a stopwatch.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Iterator

import pytest
from pymongo import AsyncMongoClient
from scan_fakes import FakeClock

from rampart.lib.store import Document
from rampart_scan.pacing_store import AllOf, StoreTokenBucket
from tests.servers import Running, started

pytestmark = pytest.mark.service
buckets = itertools.count()


@pytest.fixture(scope="module")
def store_server() -> Iterator[Running]:
    with started("nx-27017") as server:
        yield server


@pytest.fixture
async def collection(store_server: Running) -> AsyncIterator[object]:
    client: AsyncMongoClient[Document] = AsyncMongoClient(
        f"mongodb://127.0.0.1:{store_server.port}/?directConnection=true"
    )
    yield client["rampart_scan"]["scan_rate_buckets"]
    await client.close()


async def test_two_workers_sharing_a_bucket_never_exceed_the_rate(collection: object) -> None:
    clock = FakeClock()
    key = f"scan:{next(buckets)}"
    rate, batch = 100.0, 16
    workers = [StoreTokenBucket(collection, key, rate, batch, clock=clock) for _ in range(2)]  # type: ignore[arg-type]
    granted: list[tuple[float, int]] = []
    start = clock.time()

    async def probe(bucket: StoreTokenBucket, hosts: int) -> None:
        for _ in range(hosts):
            await bucket.take(25)  # a host's ports
            granted.append((clock.time(), 25))

    await asyncio.gather(probe(workers[0], 20), probe(workers[1], 20))
    total = sum(n for _, n in granted)
    elapsed = clock.time() - start
    assert total == 1000
    assert total <= workers[0].burst + rate * elapsed + 2 * batch  # unused local tokens are never lent
    assert elapsed >= (total - workers[0].burst - 2 * batch) / rate  # so ~9 s of fake time, not 0
    for at, _ in granted:  # and over every prefix: never ahead of the refill
        so_far = sum(n for t, n in granted if t <= at)
        assert so_far <= workers[0].burst + rate * (at - start) + 2 * batch


async def test_tokens_are_taken_from_the_store_in_batches(collection: object) -> None:
    clock = FakeClock()
    bucket = StoreTokenBucket(collection, f"scan:{next(buckets)}", 1000.0, 16, clock=clock)  # type: ignore[arg-type]
    for _ in range(64):
        await bucket.take(1)  # one probe at a time, as an engine sends them
    assert bucket.round_trips == 4  # 64 probes, 16 per round trip


async def test_all_caps_must_grant_so_the_slowest_bucket_sets_the_pace(collection: object) -> None:
    clock = FakeClock()
    fast = StoreTokenBucket(collection, f"org:{next(buckets)}", 1000.0, 10, clock=clock)  # type: ignore[arg-type]
    slow = StoreTokenBucket(collection, f"platform:{next(buckets)}", 50.0, 10, clock=clock)  # type: ignore[arg-type]
    start = clock.time()
    await AllOf([fast, slow]).take(500)
    assert clock.time() - start >= (500 - slow.burst) / slow.rate
