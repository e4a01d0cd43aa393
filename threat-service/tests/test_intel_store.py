"""Feed imports on the real store (nx-27017): generations, idempotent re-import, lists, staleness."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pymongo import AsyncMongoClient

from rampart.lib.store import Document
from rampart_threat.intel.service import ORG_DENY, IntelService
from rampart_threat.intel.store import MongoIntelStore
from tests.servers import Running, started

pytestmark = pytest.mark.service
FEEDS = Path(__file__).parent / "intel_feeds"
NOW = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def store_server() -> Iterator[Running]:
    with started("nx-27017") as server:
        yield server


@pytest.fixture
async def intel(store_server: Running) -> AsyncIterator[IntelService]:
    client: AsyncMongoClient[Document] = AsyncMongoClient(
        f"mongodb://127.0.0.1:{store_server.port}/?directConnection=true", tz_aware=True
    )
    store = MongoIntelStore(client[f"intel_{time.monotonic_ns()}"])
    await store.create_indexes()
    yield IntelService(store, now=lambda: NOW)
    await client.close()


async def test_an_import_is_served_and_the_same_file_again_changes_nothing(intel: IntelService) -> None:
    first = await intel.import_file("feodo", "feodo", FEEDS / "feodo.csv")
    assert (first.unchanged, first.state.indicators, first.state.generation) == (False, 2, 1)
    again = await intel.import_file("feodo", "feodo", FEEDS / "feodo.csv")
    assert again.unchanged
    assert again.state.generation == 1
    [hit] = await intel.lookup("ipv4", "192.0.2.77", "org_a")
    assert (hit.source, hit.threat, hit.imported_at) == ("feodo", "QakBot C2", NOW)


async def test_a_new_file_replaces_the_source_whole(intel: IntelService, tmp_path: Path) -> None:
    await intel.import_file("feodo", "feodo", FEEDS / "feodo.csv")
    newer = tmp_path / "feodo.csv"
    newer.write_text('"2026-02-28 00:00:00","192.0.2.99",443,"online","2026-02-28","Pikabot"\n')
    result = await intel.import_file("feodo", "feodo", newer)
    assert result.state.generation == 2
    assert await intel.lookup("ipv4", "192.0.2.77", "org_a") == []  # dropped with its generation
    assert [h.threat for h in await intel.lookup("ipv4", "192.0.2.99", "org_a")] == ["Pikabot C2"]
    fresh = IntelService(intel.store, now=lambda: NOW)  # another process loads the same state
    await fresh.reload()
    assert fresh.index.size == 1


async def test_sources_add_up_and_each_reports_its_provenance_and_staleness(intel: IntelService) -> None:
    await intel.import_file("drop", "drop", FEEDS / "drop.txt")
    await intel.import_file("stix-partner", "stix", FEEDS / "stix_bundle.json")
    later = IntelService(intel.store, stale_after=timedelta(days=1), now=lambda: NOW + timedelta(days=3))
    status = {s.state.source: s for s in await later.status()}
    assert set(status) == {"drop", "stix-partner"}
    assert status["stix-partner"].state.skipped == 1
    assert status["drop"].state.indicators == 3
    assert all(s.stale for s in status.values())
    assert not any(s.stale for s in await intel.status())


async def test_an_organisations_allow_list_hides_feed_hits_and_its_deny_list_adds_one(
    intel: IntelService,
) -> None:
    await intel.import_file("drop", "drop", FEEDS / "drop.txt")
    await intel.add_entry("org_a", "allow", "203.0.113.0/28", note="our partner's range")
    assert await intel.lookup("ipv4", "203.0.113.5", "org_a") == []
    assert [h.source for h in await intel.lookup("ipv4", "203.0.113.5", "org_b")] == [
        "drop"
    ]  # not org_b's list
    denied = await intel.add_entry("org_a", "deny", "203.0.113.5", note="seen scanning us")
    assert {h.source for h in await intel.lookup("ipv4", "203.0.113.5", "org_a")} == {ORG_DENY, "drop"}
    await intel.remove_entry("org_a", denied.entry_id)
    assert await intel.lookup("ipv4", "203.0.113.5", "org_a") == []
