"""ai-service's repository on the real store (nx-27017): exact daily claims and the history."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import pytest
from pymongo import AsyncMongoClient

from rampart.lib.store import Document
from rampart_ai.accounting import Entry, Owner, sort_key
from rampart_ai.domain import Citation
from rampart_ai.repository import AiRepository
from tests.servers import Running, started

pytestmark = pytest.mark.service  # real servers or a real store: the middle tier

AT = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
ALICE = Owner("org_a", "usr_a", live=True)


@pytest.fixture(scope="module")
def store_server() -> Iterator[Running]:
    with started("nx-27017") as server:
        yield server


@pytest.fixture
async def repository(store_server: Running) -> AsyncIterator[AiRepository]:
    client: AsyncMongoClient[Document] = AsyncMongoClient(
        f"mongodb://127.0.0.1:{store_server.port}/?directConnection=true", tz_aware=True
    )
    repository = AiRepository(client[f"ai_{time.monotonic_ns()}"])
    await repository.create_indexes()
    yield repository
    await client.close()


async def test_concurrent_request_claims_admit_exactly_the_limit_and_a_release_frees_one(
    repository: AiRepository,
) -> None:
    claims = await asyncio.gather(*(repository.claim_request("org_a", "2026-11-21", 5) for _ in range(12)))
    assert sum(claims) == 5
    assert await repository.used("org_a", "2026-11-21") == (5, 0)
    await repository.release_request("org_a", "2026-11-21")
    assert await repository.claim_request("org_a", "2026-11-21", 5)
    assert not await repository.claim_request("org_a", "2026-11-21", 5)
    assert await repository.claim_request("org_a", "2026-11-22", 5)  # a new day
    assert await repository.claim_request("org_b", "2026-11-21", 5)  # another organisation
    assert await repository.claim_request("org_b", "2026-11-21", 0)  # unlimited: counted anyway
    assert await repository.used("org_b", "2026-11-21") == (2, 0)


async def test_token_reservations_never_take_the_day_past_its_limit(repository: AiRepository) -> None:
    day = "2026-11-21"
    assert await repository.claim_tokens("org_a", day, 600, 1_000)  # before any request: upserted
    assert await repository.claim_request("org_a", day, 10)
    assert not await repository.claim_tokens("org_a", day, 600, 1_000)
    await repository.add_tokens("org_a", day, -350)  # settled: 600 reserved, 250 used
    assert await repository.claim_tokens("org_a", day, 600, 1_000)
    assert await repository.used("org_a", day) == (1, 850)
    assert not await repository.claim_tokens("org_a", day, 1_001, 1_000)


async def test_history_entries_are_read_back_by_their_owner_only_newest_first(
    repository: AiRepository,
) -> None:
    def entry(number: int, owner: Owner = ALICE) -> Entry:
        citation = Citation("port", "10.0.0.7:6379", "6379/tcp open redis", "scan_1", "10.0.0.7", 6379, "tcp")
        at = AT.replace(minute=number)
        return Entry(
            f"aih_{number}",
            owner,
            "key_1",
            "ask",
            f"q{number}",
            "a",
            (citation,),
            "offline",
            0,
            "scan_1",
            at,
            sort_key(at, number),
        )

    for number in range(4):
        await repository.add(entry(number))
    await repository.add(entry(9, Owner("org_b", "usr_a", True)))
    await repository.add(entry(8, Owner("org_a", "usr_a", False)))
    page = await repository.page(ALICE, 0, None, 3)
    assert [e.history_id for e in page] == ["aih_3", "aih_2", "aih_1"]
    assert [e.history_id for e in await repository.page(ALICE, 0, page[-1].sort_key, 3)] == ["aih_0"]
    assert await repository.get(ALICE, "aih_2", 0) == entry(2)
    assert await repository.get(ALICE, "aih_9", 0) is None
    assert await repository.get(ALICE, "aih_8", 0) is None  # the test-key world
    assert await repository.count(ALICE, 0) == 4
    assert await repository.count(ALICE, entry(2).sort_key) == 2
    assert await repository.sweep(entry(2).sort_key) == 2
    assert await repository.count(ALICE, 0) == 2
