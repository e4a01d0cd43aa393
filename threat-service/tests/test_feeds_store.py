"""Feed imports on the real store: same records from both NVD forms, idempotent, incremental,
switched atomically, provenance kept, survives kill -9."""

from __future__ import annotations

import argparse
import asyncio
import copy
import functools
import hashlib
import http.server
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import pytest
from incidents_fakes import FakeAssets, FakeIncidents, RecordingNotifier
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from rampart.common.v1 import common_pb2
from rampart.lib.store import Document
from rampart.threat.v1 import threat_pb2
from rampart_threat.bootstrap import assemble
from rampart_threat.feeds.__main__ import FeedCommandSettings, NoFeedUrl, run
from rampart_threat.feeds.domain import FeedKind, FeedPathRefused
from rampart_threat.feeds.repository import MongoFeedRepository
from rampart_threat.feeds.service import FeedService
from rampart_threat.incidents.wiring import incident_parts
from rampart_threat.knowledge.service import KnowledgeService
from tests.servers import Running, started

FEEDS = Path(__file__).resolve().parents[2].parent / "shared" / "vulnfeeds"
KEV = FEEDS / "kev" / "known_exploited_vulnerabilities.json"
EPSS = FEEDS / "epss" / "epss_scores-subset.csv"
pytestmark = [
    pytest.mark.service,
    pytest.mark.skipif(not FEEDS.is_dir(), reason=f"feed fixtures not found at {FEEDS}"),
]


@pytest.fixture(scope="module")
def store_server() -> Iterator[Running]:
    with started("nx-27017") as server:
        yield server


def url(server: Running) -> str:
    return f"mongodb://127.0.0.1:{server.port}/?directConnection=true"


@pytest.fixture
async def db(store_server: Running, request: pytest.FixtureRequest) -> AsyncIterator[AsyncDatabase[Document]]:
    client: AsyncMongoClient[Document] = AsyncMongoClient(url(store_server))
    name = f"feeds_{abs(hash(request.node.nodeid)) % 10**9}"
    await client.drop_database(name)
    yield client[name]
    await client.drop_database(name)
    await client.close()


async def feeds_on(db: AsyncDatabase[Document], **kwargs: Any) -> tuple[FeedService, MongoFeedRepository]:
    repository = MongoFeedRepository(db)
    await repository.create_indexes()
    return FeedService(repository, **kwargs), repository


async def dump(db: AsyncDatabase[Document]) -> dict[str, list[Document]]:
    """Every feed collection but the import log, sorted: what 'the store' holds."""
    out = {}
    for name in ("feed_cves", "feed_kev", "feed_epss", "feed_state"):
        docs = [d async for d in db[name].find({"_id": {"$ne": "lock"}})]
        out[name] = sorted(docs, key=lambda d: str(d["_id"]))
    return out


async def stored(repository: MongoFeedRepository) -> dict[str, Any]:
    return {r.cve_id: r async for r in repository.all()}


async def test_per_cve_files_and_the_api_response_store_the_same_records(db: AsyncDatabase[Document]) -> None:
    feeds, repository = await feeds_on(db)
    report = await feeds.import_path(FeedKind.NVD, FEEDS / "nvd")
    assert (report.counts.added, report.counts.updated) == (40, 0)
    from_files = await stored(repository)
    again = await feeds.import_path(FeedKind.NVD, FEEDS / "nvd-api-2.0-response.json")
    assert (again.counts.added, again.counts.updated, again.counts.unchanged) == (0, 0, 40)
    assert await stored(repository) == from_files
    on_disk = json.loads((FEEDS / "nvd" / "CVE-2024-6387.json").read_text())
    assert from_files["CVE-2024-6387"].nvd == on_disk
    assert from_files["CVE-2024-6387"].last_modified["nvd"].startswith("2024-07-09T06:15:03.513")


async def test_every_source_is_joined_into_one_record_per_cve(db: AsyncDatabase[Document]) -> None:
    feeds, repository = await feeds_on(db)
    for kind, path in (
        (FeedKind.NVD, FEEDS / "nvd"),
        (FeedKind.CVE5, FEEDS / "cve5"),
        (FeedKind.KEV, KEV),
        (FeedKind.EPSS, EPSS),
    ):
        await feeds.import_path(kind, path)
    record = await repository.get("CVE-2021-41773")
    assert record is not None
    assert record.nvd is not None
    assert record.cve5 is not None
    assert record.cve5["cveMetadata"]["cveId"] == "CVE-2021-41773"
    assert record.kev is not None
    assert record.kev["dateAdded"] == "2021-11-03"
    assert record.epss is not None
    assert record.epss["date"] == "2026-09-29T12:00:22+00:00"
    not_kev = await repository.get("CVE-2024-6387")
    assert not_kev is not None
    assert not_kev.kev is None
    assert not_kev.epss is not None
    adp = await repository.get("CVE-2024-1737")
    assert adp is not None
    assert adp.cve5 is not None
    assert adp.cve5["containers"]["adp"]


async def test_many_joins_the_sources_of_the_asked_cves_like_get(db: AsyncDatabase[Document]) -> None:
    """The catalog reads the records a match returns in one call: each as get() would, unknown ids absent."""
    feeds, repository = await feeds_on(db)
    for kind, path in ((FeedKind.NVD, FEEDS / "nvd"), (FeedKind.KEV, KEV), (FeedKind.EPSS, EPSS)):
        await feeds.import_path(kind, path)
    asked = ["CVE-2021-41773", "CVE-2024-6387", "CVE-1999-0001"]
    found = await repository.many(asked)
    assert set(found) == {"CVE-2021-41773", "CVE-2024-6387"}
    for cve_id, stored in found.items():
        assert stored == await repository.get(cve_id)
    assert found["CVE-2021-41773"].kev is not None
    assert found["CVE-2024-6387"].kev is None


async def test_importing_the_same_files_twice_changes_nothing(db: AsyncDatabase[Document]) -> None:
    feeds, _ = await feeds_on(db)
    plan = (
        (FeedKind.NVD, FEEDS / "nvd"),
        (FeedKind.CVE5, FEEDS / "cve5"),
        (FeedKind.KEV, KEV),
        (FeedKind.EPSS, EPSS),
    )
    for kind, path in plan:
        await feeds.import_path(kind, path)
    before = await dump(db)
    for kind, path in plan:
        report = await feeds.import_path(kind, path)
        assert (report.counts.changed, report.counts.unchanged > 0) == (0, True), kind
    assert await dump(db) == before
    assert await db["feed_imports"].count_documents({}) == 8  # provenance of every import is kept


async def test_only_newer_records_replace_stored_ones(db: AsyncDatabase[Document], tmp_path: Path) -> None:
    feeds, repository = await feeds_on(db)
    await feeds.import_path(FeedKind.NVD, FEEDS / "nvd")
    newer = json.loads((FEEDS / "nvd" / "CVE-2024-6387.json").read_text())
    newer["lastModified"], newer["vulnStatus"] = "2025-01-01T00:00:00.000", "Modified-later"
    older = json.loads((FEEDS / "nvd" / "CVE-2023-38408.json").read_text())
    older["lastModified"], older["vulnStatus"] = "2020-01-01T00:00:00.000", "Stale"
    page = {"vulnerabilities": [{"cve": newer}, {"cve": older}]}
    (tmp_path / "page.json").write_text(json.dumps(page))
    report = await feeds.import_path(FeedKind.NVD, tmp_path / "page.json")
    assert (report.counts.updated, report.counts.skipped, report.counts.added) == (1, 1, 0)
    latest, kept = await repository.get("CVE-2024-6387"), await repository.get("CVE-2023-38408")
    assert latest is not None
    assert latest.nvd is not None
    assert latest.nvd["vulnStatus"] == "Modified-later"
    assert kept is not None
    assert kept.nvd is not None
    assert kept.nvd["vulnStatus"] != "Stale"


async def test_a_new_kev_catalogue_retires_entries_it_no_longer_lists(
    db: AsyncDatabase[Document], tmp_path: Path
) -> None:
    feeds, repository = await feeds_on(db)
    await feeds.import_path(FeedKind.KEV, KEV)
    catalogue = json.loads(KEV.read_text())
    catalogue["vulnerabilities"] = [e for e in catalogue["vulnerabilities"] if e["cveID"] != "CVE-2021-41773"]
    catalogue["dateReleased"] = "2025-08-26T00:00:00.000Z"
    (tmp_path / "kev.json").write_text(json.dumps(catalogue))
    report = await feeds.import_path(FeedKind.KEV, tmp_path / "kev.json")
    assert (report.counts.removed, report.counts.unchanged) == (1, 1403)
    assert await repository.get("CVE-2021-41773") is None
    status = {s.kind: s for s in await feeds.status()}
    assert status[FeedKind.KEV].records == 1403


async def test_provenance_names_the_file_digest_snapshot_and_counts(db: AsyncDatabase[Document]) -> None:
    feeds, _ = await feeds_on(db)
    report = await feeds.import_path(FeedKind.EPSS, EPSS)
    doc = await db["feed_imports"].find_one({"_id": report.import_id})
    assert doc is not None
    assert doc["sha256"] == hashlib.sha256(EPSS.read_bytes()).hexdigest()
    assert doc["kind"] == "epss"
    assert doc["path"] == str(EPSS)
    assert doc["added"] == 40
    assert doc["details"] == {"model_version": "v2026.06.15"}
    assert doc["snapshot"].replace(tzinfo=UTC) == datetime(2026, 9, 29, 12, 0, 22, tzinfo=UTC)


async def test_a_source_older_than_the_stale_age_shows_as_stale(db: AsyncDatabase[Document]) -> None:
    feeds, _ = await feeds_on(db, stale_days=8)
    await feeds.import_path(FeedKind.EPSS, EPSS)  # scores dated 2026-09-29
    fresh = await feeds.status(now=datetime(2026, 10, 3, tzinfo=UTC))
    late = await feeds.status(now=datetime(2026, 10, 8, tzinfo=UTC))
    assert [(s.kind, s.stale) for s in fresh] == [(FeedKind.EPSS, False)]
    assert [(s.kind, s.stale, s.records) for s in late] == [(FeedKind.EPSS, True, 40)]


async def test_a_reader_during_an_import_sees_the_old_data_until_the_switch(
    db: AsyncDatabase[Document], tmp_path: Path
) -> None:
    setup, reader = await feeds_on(db)
    await setup.import_path(FeedKind.NVD, FEEDS / "nvd")
    old = await stored(reader)
    page = {"vulnerabilities": []}
    for path in sorted((FEEDS / "nvd").glob("*.json")):
        cve = json.loads(path.read_text())
        cve["lastModified"], cve["vulnStatus"] = "2027-01-01T00:00:00.000", "Reanalysed"
        page["vulnerabilities"].append({"cve": cve})
    (tmp_path / "page.json").write_text(json.dumps(page))
    seen: list[dict[str, Any]] = []

    async def read_between_batches() -> None:
        seen.append(await stored(reader))

    importer, _ = await feeds_on(db, on_batch=read_between_batches, batch_size=7)
    await importer.import_path(FeedKind.NVD, tmp_path / "page.json")
    assert len(seen) >= 5  # the import wrote in several batches, with a read after each
    assert all(view == old for view in seen)
    new = await stored(reader)
    assert {r.nvd["vulnStatus"] for r in new.values()} == {"Reanalysed"}


async def test_the_starter_set_loads_only_into_an_empty_knowledge_base(db: AsyncDatabase[Document]) -> None:
    feeds, repository = await feeds_on(db)
    first = await feeds.load_starter_if_empty()
    assert first is not None
    assert first.counts.added > 20
    assert await feeds.load_starter_if_empty() is None
    record = await repository.get("CVE-2024-6387")
    assert record is not None
    assert record.nvd is not None
    assert record.sources["nvd"] == first.import_id
    real = await feeds.import_path(FeedKind.NVD, FEEDS / "nvd")  # the real record replaces the starter one
    replaced = await repository.get("CVE-2024-6387")
    assert replaced is not None
    assert replaced.nvd == json.loads((FEEDS / "nvd" / "CVE-2024-6387.json").read_text())
    assert real.counts.updated >= 1


async def test_the_import_rpc_reads_only_under_feeds_dir(db: AsyncDatabase[Document], tmp_path: Path) -> None:
    (tmp_path / "kev").mkdir()
    (tmp_path / "kev" / "kev.json").write_bytes(KEV.read_bytes())
    (tmp_path / "outside").symlink_to(FEEDS)
    repository = MongoFeedRepository(db)
    await repository.create_indexes()
    parts = assemble(
        cast(Any, None),
        incidents=incident_parts(FakeIncidents(), FakeAssets(), RecordingNotifier()),
        knowledge=FeedService(repository, feeds_dir=tmp_path),
    )
    owner = common_pb2.Owner(org_id="org_admin", user_id="usr_admin")
    reply = await parts.servicer.ImportFeed(
        threat_pb2.ImportFeedRequest(owner=owner, kind=threat_pb2.FEED_KIND_KEV, path="kev/kev.json"),
        cast(Any, None),
    )
    assert (reply.kind, reply.added, reply.details["catalog_version"]) == (
        threat_pb2.FEED_KIND_KEV,
        1404,
        "2025.08.25",
    )
    for path in ("outside/epss/epss_scores-subset.csv", str(EPSS), "../x.json"):
        request = threat_pb2.ImportFeedRequest(owner=owner, kind=threat_pb2.FEED_KIND_EPSS, path=path)
        with pytest.raises(FeedPathRefused):
            await parts.servicer.ImportFeed(request, cast(Any, None))
    status = await parts.servicer.GetFeedStatus(threat_pb2.GetFeedStatusRequest(owner=owner), cast(Any, None))
    assert [(s.kind, s.records) for s in status.sources] == [(threat_pb2.FEED_KIND_KEV, 1404)]
    assert status.stale_after_days == 8.0


def synthetic_page(path: Path, count: int, modified: str) -> None:
    template = json.loads((FEEDS / "nvd" / "CVE-2024-6387.json").read_text())
    with path.open("w") as out:
        out.write('{"vulnerabilities":[')
        for n in range(count):
            cve = copy.deepcopy(template)
            cve["id"], cve["lastModified"] = f"CVE-2099-{n:06d}", modified
            out.write(("," if n else "") + json.dumps({"cve": cve}))
        out.write("]}")


def cli(server: Running, *args: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "MONGODB_URL": url(server), "MONGODB_DATABASE": "feeds_kill9"}
    return subprocess.Popen(
        [sys.executable, "-m", "rampart_threat.feeds", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


async def test_an_import_killed_mid_way_leaves_the_previous_data_and_the_next_import_completes(
    store_server: Running, tmp_path: Path
) -> None:
    client: AsyncMongoClient[Document] = AsyncMongoClient(url(store_server))
    db = client["feeds_kill9"]
    await client.drop_database("feeds_kill9")
    try:
        synthetic_page(tmp_path / "v1.json", 3000, "2024-01-01T00:00:00.000")
        synthetic_page(tmp_path / "v2.json", 3000, "2025-01-01T00:00:00.000")
        first = cli(store_server, "import", "nvd", str(tmp_path / "v1.json"))
        _, err = first.communicate(timeout=300)
        assert first.returncode == 0, err
        repository = MongoFeedRepository(db)
        active = await repository.active()
        victim = cli(store_server, "import", "nvd", str(tmp_path / "v2.json"))
        deadline = time.monotonic() + 120
        while await db["feed_cves"].count_documents({"gen_from": {"$gt": active}}) < 600:
            assert victim.poll() is None, "the import finished before it could be killed"
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        victim.send_signal(signal.SIGKILL)
        victim.communicate(timeout=30)
        assert await repository.active() == active
        records = await stored(repository)
        assert len(records) == 3000
        assert {r.nvd["lastModified"] for r in records.values()} == {"2024-01-01T00:00:00.000"}
        again = cli(store_server, "import", "nvd", str(tmp_path / "v2.json"))
        out, err = again.communicate(timeout=300)
        assert again.returncode == 0, err
        assert json.loads(out)["counts"]["updated"] == 3000
        assert await repository.active() == active + 1
        records = await stored(repository)
        assert {r.nvd["lastModified"] for r in records.values()} == {"2025-01-01T00:00:00.000"}
        assert await db["feed_cves"].count_documents({}) <= 6000  # the killed import's leftovers are gone
    finally:
        await client.drop_database("feeds_kill9")
        await client.close()


async def test_the_catalog_follows_imports_on_the_store_through_the_rpc_and_out_of_band(
    db: AsyncDatabase[Document], tmp_path: Path
) -> None:
    """Starter set first; an ImportFeed RPC rebuilds the catalog; an import by another writer (the CLI) is
    seen by the next query."""
    (tmp_path / "kev.json").write_bytes(KEV.read_bytes())
    repository = MongoFeedRepository(db)
    await repository.create_indexes()
    feeds = FeedService(repository, feeds_dir=tmp_path)
    await feeds.load_starter_if_empty()
    catalog = KnowledgeService(repository, feeds)
    parts = assemble(
        cast(Any, None),
        incidents=incident_parts(FakeIncidents(), FakeAssets(), RecordingNotifier()),
        knowledge=feeds,
        catalog=catalog,
    )
    context = cast(Any, None)
    request = threat_pb2.GetCatalogEntryRequest(cve_id="CVE-2021-41773")
    before = await parts.servicer.GetCatalogEntry(request, context)
    assert {(p.source, p.feed) for p in before.provenance} >= {("kev", threat_pb2.FEED_KIND_STARTER)}
    await parts.servicer.ImportFeed(
        threat_pb2.ImportFeedRequest(kind=threat_pb2.FEED_KIND_KEV, path="kev.json"), context
    )
    assert catalog.generation == await repository.active()  # rebuilt by the RPC itself
    after = await parts.servicer.GetCatalogEntry(request, context)
    kev = next(p for p in after.provenance if p.source == "kev")
    assert (kev.feed, kev.modified) == (threat_pb2.FEED_KIND_KEV, "2021-11-03")
    assert after.kev.required_action  # the full catalogue's entry, not the starter's summary
    await FeedService(repository).import_path(FeedKind.NVD, FEEDS / "nvd" / "CVE-2021-30047.json")
    assert catalog.generation != await repository.active()
    entry = await parts.servicer.GetCatalogEntry(
        threat_pb2.GetCatalogEntryRequest(cve_id="CVE-2021-30047"), context
    )
    assert entry.cve_id == "CVE-2021-30047"
    assert catalog.generation == await repository.active()


async def test_fetch_downloads_only_a_configured_url_and_imports_the_file(
    db: AsyncDatabase[Document], store_server: Running, tmp_path: Path
) -> None:
    """``fetch kev`` refuses while FEED_URL_KEV is unset; set, it downloads the file (served here from
    127.0.0.1) into FEEDS_DIR and imports it."""
    served = tmp_path / "served"
    served.mkdir()
    (served / KEV.name).write_bytes(KEV.read_bytes())
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    command = argparse.Namespace(command="fetch", kind="kev")
    base: dict[str, Any] = {
        "mongodb_url": url(store_server),
        "mongodb_database": db.name,
        "feeds_dir": tmp_path / "feeds",
    }
    try:
        with pytest.raises(NoFeedUrl):
            await run(command, FeedCommandSettings(**base))
        assert not (tmp_path / "feeds").exists()
        kev_url = f"http://127.0.0.1:{server.server_port}/{KEV.name}"
        result = await run(command, FeedCommandSettings(**base, feed_url_kev=kev_url))
    finally:
        server.shutdown()
        server.server_close()
    downloaded = tmp_path / "feeds" / "kev" / KEV.name
    assert result["downloaded"] == str(downloaded)
    assert downloaded.read_bytes() == KEV.read_bytes()
    assert result["counts"]["added"] == len(json.loads(KEV.read_text("utf-8"))["vulnerabilities"])
    record = await MongoFeedRepository(db).get("CVE-2021-41773")
    assert record is not None
    assert record.kev is not None
    assert record.kev["dateAdded"] == "2021-11-03"
