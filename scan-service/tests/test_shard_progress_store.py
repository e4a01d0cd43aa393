"""Progress inside shards against the real store (nx-27017): the writes ``sharding`` relies on.

A shard's probes are stored only under its current claim and start again at 0 when it is
claimed again; the scan's progress only grows, and only while the scan runs.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator

import pytest
from pymongo import AsyncMongoClient

from rampart.lib.store import Document
from rampart_scan.domain import CANCELLED, RUNNING, PortCounts
from rampart_scan.interfaces import ShardLease
from rampart_scan.repository import ScanRepository
from tests.servers import Running, started

pytestmark = pytest.mark.service
scans = itertools.count()


@pytest.fixture(scope="module")
def store_server() -> Iterator[Running]:
    with started("nx-27017") as server:
        yield server


@pytest.fixture
async def repo(store_server: Running) -> AsyncIterator[ScanRepository]:
    client: AsyncMongoClient[Document] = AsyncMongoClient(
        f"mongodb://127.0.0.1:{store_server.port}/?directConnection=true"
    )
    repository = ScanRepository(client["rampart_scan_progress"])
    await repository.create_indexes()
    yield repository
    await client.close()


async def running_scan(repo: ScanRepository) -> str:
    scan_id = f"scan_progress{next(scans)}"
    await repo.scans.insert_one({"_id": scan_id, "status": RUNNING, "progress": 0, "shards_done": 0})
    return scan_id


async def test_a_scans_progress_only_grows_and_only_while_it_runs(repo: ScanRepository) -> None:
    scan_id = await running_scan(repo)
    assert await repo.raise_progress(scan_id, 10)
    assert not await repo.raise_progress(scan_id, 10)  # a value is raised to once
    assert not await repo.raise_progress(scan_id, 4)  # never back
    assert await repo.raise_progress(scan_id, 12)
    assert (await repo.scans.find_one({"_id": scan_id}) or {})["progress"] == 12
    await repo.scans.update_one({"_id": scan_id}, {"$set": {"status": CANCELLED}})
    assert not await repo.raise_progress(scan_id, 50)  # a shard still stopping after the cancel
    assert (await repo.scans.find_one({"_id": scan_id}) or {})["progress"] == 12


async def test_shard_probes_count_under_the_current_claim_and_restart_at_zero(repo: ScanRepository) -> None:
    scan_id = await running_scan(repo)
    now = 1_000.0
    first, second = ShardLease("w1", "w1/a", now + 60), ShardLease("w2", "w2/b", now + 60)
    assert await repo.claim_shard(scan_id, 1, first, now) == 1
    assert await repo.claim_shard(scan_id, 2, second, now) == 1
    assert await repo.record_shard_probes(scan_id, 1, "w1/a", 7)
    assert await repo.record_shard_probes(scan_id, 2, "w2/b", 3)
    assert not await repo.record_shard_probes(scan_id, 2, "w9/old", 90)  # not its claim
    assert await repo.shard_progress(scan_id) == (frozenset(), 10)
    assert await repo.finish_shard(scan_id, 1, "w1/a", PortCounts(0, 10, 0))
    assert not await repo.record_shard_probes(scan_id, 1, "w1/a", 9)  # done: its block counts whole
    assert await repo.shard_progress(scan_id) == (frozenset({1}), 3)
    # w2 died; once its lease ran out shard 2 is claimed again and starts from 0
    assert await repo.claim_shard(scan_id, 2, ShardLease("w3", "w3/c", now + 200), now + 61) == 2
    assert await repo.shard_progress(scan_id) == (frozenset({1}), 0)
    assert not await repo.record_shard_probes(scan_id, 2, "w2/b", 5)
