"""The asset repository on the real store (nx-27017): round trip, guarded saves, filters, cursors."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import pytest
from assets_fakes import T0
from pymongo import AsyncMongoClient

from rampart.lib.store import Document
from rampart_threat.assets.domain import AssetRecord, Observation, PortChange, Service, asset_id
from rampart_threat.assets.repository import AssetFilter, MongoAssetRepository
from rampart_threat.assets.service import AssetListing, AssetService
from rampart_threat.findings.model import Severity as FindingSeverity
from tests.servers import Running, started

pytestmark = pytest.mark.service

DEBIAN_SSH = "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3"


@pytest.fixture(scope="module")
def store_server() -> Iterator[Running]:
    with started("nx-27017") as server:
        yield server


@pytest.fixture
async def store(store_server: Running) -> AsyncIterator[MongoAssetRepository]:
    client: AsyncMongoClient[Document] = AsyncMongoClient(
        f"mongodb://127.0.0.1:{store_server.port}/?directConnection=true", tz_aware=True
    )
    repository = MongoAssetRepository(client[f"threat_{time.monotonic_ns()}"])
    await repository.create_indexes()
    yield repository
    await client.close()


def seen(host: str, port: int, minutes: int = 0, scan: str = "scn_1", **kwargs: Any) -> Observation:
    return Observation(scan, host, port, "tcp", True, T0 + timedelta(minutes=minutes), **kwargs)


async def test_an_asset_round_trips_with_its_ports_history_scans_and_counts(
    store: MongoAssetRepository,
) -> None:
    record = AssetRecord.new("org_a", True, "10.0.0.5")
    record.observe(seen("10.0.0.5", 22, service=Service("ssh", "OpenSSH", "9.2p1"), banner=DEBIAN_SSH))
    record.observe(
        seen("10.0.0.5", 443, 1, service=Service("https", "nginx", tls=True), names=("www.example.org",))
    )
    record.close_unseen("scn_2", frozenset({(443, "tcp")}), T0 + timedelta(hours=1))
    record.set_finding_counts({FindingSeverity.HIGH: 2, "info": 1})  # the ledger may count by its enum
    assert await store.save(record)
    read = await store.get("org_a", True, record.asset_id)
    assert read == record
    assert read is not None
    assert (read.os.name, read.names, [p.port for p in read.open_ports()]) == (
        "Linux (Debian 12)",
        ("www.example.org",),
        [22],
    )
    assert [h.change for h in read.history][-1] is PortChange.CLOSED
    assert read.findings == {"high": 2, "info": 1}


async def test_a_save_on_a_stale_version_loses_and_a_second_insert_of_one_host_too(
    store: MongoAssetRepository,
) -> None:
    first = AssetRecord.new("org_a", True, "10.0.0.5")
    first.observe(seen("10.0.0.5", 22))
    twin = AssetRecord.new("org_a", True, "10.0.0.5")
    twin.observe(seen("10.0.0.5", 80))
    assert await store.save(first)
    assert not await store.save(twin)  # the same host created meanwhile
    stale = await store.get("org_a", True, first.asset_id)
    fresh = await store.get("org_a", True, first.asset_id)
    assert stale is not None
    assert fresh is not None
    fresh.observe(seen("10.0.0.5", 8080, 5))
    assert await store.save(fresh)
    stale.observe(seen("10.0.0.5", 9090, 6))
    assert not await store.save(stale)


async def test_the_same_events_twice_leave_the_stored_asset_untouched(store: MongoAssetRepository) -> None:
    service = AssetService(store)
    events = [seen("10.0.0.5", 22), seen("10.0.0.5", 22, 1, service=Service("ssh", "OpenSSH", "9.2p1"))]
    assert [await service.observe("org_a", True, e) for e in events] == [True, True]
    before = await store.get("org_a", True, asset_id("org_a", "10.0.0.5"))
    assert [await service.observe("org_a", True, e) for e in events] == [False, False]
    after = await store.get("org_a", True, asset_id("org_a", "10.0.0.5"))
    assert after == before
    assert after is not None
    assert after.version == 2


async def test_assets_are_scoped_by_organisation_and_by_live_or_test(store: MongoAssetRepository) -> None:
    service = AssetService(store)
    await service.observe("org_a", True, seen("10.0.0.5", 22))
    await service.observe("org_a", False, seen("10.0.0.5", 80))
    await service.observe("org_b", True, seen("10.0.0.5", 3389))
    live = asset_id("org_a", "10.0.0.5")
    assert await store.get("org_b", True, live) is None
    assert await store.get("org_a", False, live) is None
    [found] = await store.find("org_a", (live,), (), False)
    assert (found.host, found.open_ports) == ("10.0.0.5", (22,))  # incidents see the live one only
    assert [a.open_ports for a in await store.find("org_a", (), (), True)] == [(22,)]
    assert [a.open_ports for a in await store.find("org_b", (), ("10.0.0.5",), False)] == [(3389,)]


async def test_filters_and_sorts_run_on_the_store(store: MongoAssetRepository) -> None:
    service = AssetService(store)
    await service.observe("org_a", True, seen("10.0.0.1", 22, 0, service=Service("ssh"), banner=DEBIAN_SSH))
    await service.observe("org_a", True, seen("10.0.0.2", 6379, 10, service=Service("redis", "Redis")))
    await service.observe("org_a", True, seen("db.example.org", 5432, 20))
    await service.observe("org_a", True, seen("10.0.0.3", 443, 30, names=("shop.example.com",)))
    await service.set_finding_counts("org_a", True, "10.0.0.2", {"critical": 1})
    await service.set_finding_counts("org_a", True, "10.0.0.1", {"high": 5, "medium": 1})

    async def hosts(sort: str = "host", ascending: bool = True, **kwargs: Any) -> list[str]:
        page = await service.list(AssetListing(AssetFilter("org_a", **kwargs), sort, ascending, page_size=50))
        return [record.host for record in page.assets]

    assert await hosts() == ["10.0.0.1", "10.0.0.2", "10.0.0.3", "db.example.org"]
    assert await hosts(text="example") == ["10.0.0.3", "db.example.org"]
    assert await hosts(text="0.0.2") == ["10.0.0.2"]  # a dot is matched as a dot
    assert await hosts(text="0.0.") == ["10.0.0.1", "10.0.0.2", "10.0.0.3"]
    assert await hosts(text="a.b(") == []  # regex characters are plain text
    assert await hosts(port=5432) == ["db.example.org"]
    assert await hosts(service="Redis") == ["10.0.0.2"]
    assert await hosts(os="DEBIAN") == ["10.0.0.1"]
    assert await hosts(has_findings=True) == ["10.0.0.1", "10.0.0.2"]
    assert await hosts(has_findings=False) == ["10.0.0.3", "db.example.org"]
    assert await hosts(min_severity="critical") == ["10.0.0.2"]
    assert await hosts(seen_after=T0 + timedelta(minutes=10), seen_before=T0 + timedelta(minutes=30)) == [
        "10.0.0.2",
        "db.example.org",
    ]
    by_findings = await hosts("findings", False)
    assert by_findings[:2] == ["10.0.0.2", "10.0.0.1"]  # one critical outranks five highs
    assert sorted(by_findings[2:]) == ["10.0.0.3", "db.example.org"]
    assert await hosts("first_seen", False) == ["10.0.0.3", "db.example.org", "10.0.0.2", "10.0.0.1"]
    assert await hosts("last_seen", True) == ["10.0.0.1", "10.0.0.2", "db.example.org", "10.0.0.3"]


@pytest.mark.parametrize("ascending", [False, True])
async def test_a_cursor_walks_ties_without_skipping_or_repeating(
    store: MongoAssetRepository, ascending: bool
) -> None:
    service = AssetService(store)
    for n in range(9):  # three assets share each last_seen
        await service.observe("org_a", True, seen(f"10.0.2.{n}", 80, n // 3))
    listing = AssetListing(AssetFilter("org_a"), "last_seen", ascending, page_size=2)
    page = await service.list(listing)
    assert (page.total, page.pages) == (9, 5)
    walked = [r.asset_id for r in page.assets]
    while page.next_page_token:
        page = await service.list(
            AssetListing(
                AssetFilter("org_a"), "last_seen", ascending, page_size=2, page_token=page.next_page_token
            )
        )
        walked += [r.asset_id for r in page.assets]
    assert len(walked) == len(set(walked)) == 9
    by_page = []
    for number in range(1, 6):
        numbered = await service.list(AssetListing(AssetFilter("org_a"), "last_seen", ascending, number, 2))
        by_page += [r.asset_id for r in numbered.assets]
    assert walked == by_page  # cursor and page numbers agree on the order


async def test_the_hosts_a_scan_saw_are_found_by_its_id_in_the_organisation_and_world(
    store: MongoAssetRepository,
) -> None:
    for org, live, host, scan in (
        ("org_a", True, "10.0.0.5", "scn_1"),
        ("org_a", True, "10.0.0.6", "scn_1"),
        ("org_a", True, "10.0.0.7", "scn_2"),
        ("org_a", False, "10.0.0.8", "scn_1"),
        ("org_b", True, "10.0.0.9", "scn_1"),
    ):
        record = AssetRecord.new(org, live, host)
        record.observe(seen(host, 22, scan=scan))
        assert await store.save(record)
    assert await store.hosts_seen_by("org_a", True, "scn_1") == ["10.0.0.5", "10.0.0.6"]
    assert await store.hosts_seen_by("org_a", True, "scn_3") == []
