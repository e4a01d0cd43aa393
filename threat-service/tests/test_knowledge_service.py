"""The catalog on a fake feed store: entries and matches from the active generation, rebuilt on a switch."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any, cast

import pytest
from incidents_fakes import FakeAssets, FakeIncidents, RecordingNotifier
from test_activity_service import FakeActivityRepository

from rampart.lib.errors import InvalidArgument
from rampart.threat.v1 import threat_pb2
from rampart_threat.bootstrap import assemble
from rampart_threat.feeds import starter
from rampart_threat.feeds.domain import FeedKind, StoredCve
from rampart_threat.feeds.repository import SourceState
from rampart_threat.feeds.service import FeedService
from rampart_threat.incidents.wiring import incident_parts
from rampart_threat.knowledge.matcher import Basis, Query, Verdict
from rampart_threat.knowledge.service import CatalogEntryNotFound, KnowledgeService

STARTER_IMPORT = "imp_starter"
SSH_CPE = "cpe:2.3:a:openbsd:openssh:9.2:p1:*:*:*:*:*:*"


def starter_records(import_id: str = STARTER_IMPORT) -> list[StoredCve]:
    out = []
    for r in starter.load().records:
        sources = {"nvd": import_id}
        modified = {"nvd": "starter:" + str(r.nvd["lastModified"])}
        if r.kev:
            sources["kev"], modified["kev"] = import_id, "starter:" + str(r.kev["dateAdded"])
        if r.epss:
            sources["epss"], modified["epss"] = import_id, "starter:" + str(r.epss["date"])
        out.append(
            StoredCve(r.cve_id, nvd=r.nvd, kev=r.kev, epss=r.epss, last_modified=modified, sources=sources)
        )
    return out


class FakeFeedStore:
    """Generations of stored CVEs in memory, with the pointer and the per-source states."""

    def __init__(self) -> None:
        self.generations: dict[int, list[StoredCve]] = {0: []}
        self.current = 0
        self.states: dict[FeedKind, SourceState] = {}
        self.reads = 0  # how many times a whole generation was read
        self.asked: list[list[str]] = []  # the ids of each many() call

    def activate(self, records: list[StoredCve], kind: FeedKind, import_id: str, snapshot: datetime) -> None:
        self.current += 1
        self.generations[self.current] = records
        self.states[kind] = SourceState(snapshot, len(records), import_id, snapshot)

    async def active(self) -> int:
        return self.current

    async def sources(self) -> dict[FeedKind, SourceState]:
        return dict(self.states)

    async def all(self, generation: int | None = None) -> AsyncIterator[StoredCve]:
        self.reads += 1
        for stored in self.generations[self.current if generation is None else generation]:
            yield stored

    async def many(self, cve_ids: list[str], generation: int | None = None) -> dict[str, StoredCve]:
        self.asked.append(list(cve_ids))
        wanted = set(cve_ids)
        held = self.generations[self.current if generation is None else generation]
        return {s.cve_id: s for s in held if s.cve_id in wanted}


def catalog(stale_days: float = 10_000.0) -> tuple[KnowledgeService, FakeFeedStore, FeedService]:
    store = FakeFeedStore()
    store.activate(starter_records(), FeedKind.STARTER, STARTER_IMPORT, starter.load().snapshot)
    feeds = FeedService(cast(Any, store), stale_days=stale_days)
    return KnowledgeService(store, feeds), store, feeds


async def test_an_entry_carries_the_chosen_score_cwe_names_kev_epss_and_its_starter_provenance() -> None:
    service, _, _ = catalog()
    entry = await service.entry("CVE-2021-41773")
    assert entry.assessment.metric is not None
    assert (entry.assessment.metric.version, entry.assessment.metric.base_score) == ("3.1", 7.5)
    assert entry.cwe_names == {
        "CWE-22": "Improper Limitation of a Pathname to a Restricted Directory ('Path Traversal')"
    }
    assert entry.record.kev is not None
    assert entry.record.kev.date_added == "2021-11-03"
    assert entry.record.epss is not None
    assert entry.record.epss.score == pytest.approx(0.99992)
    assert entry.assessment.priority.value == "act"  # in KEV, network-automatable
    assert {(p.source, p.feed, p.stale) for p in entry.provenance} == {
        ("nvd", FeedKind.STARTER, False),
        ("kev", FeedKind.STARTER, False),
        ("epss", FeedKind.STARTER, False),
    }
    assert next(p for p in entry.provenance if p.source == "kev").modified == "2021-11-03"


async def test_a_source_older_than_the_stale_age_is_marked_stale_in_the_entry() -> None:
    service, _, _ = catalog(stale_days=1.0)
    entry = await service.entry("CVE-2024-6387")
    expected = (datetime.now(UTC) - starter.load().snapshot).total_seconds() > 86_400
    assert {p.stale for p in entry.provenance} == {expected}


async def test_an_unknown_cve_is_not_found() -> None:
    service, _, _ = catalog()
    with pytest.raises(CatalogEntryNotFound):
        await service.entry("CVE-1999-0001")


async def test_openssh_9_2p1_by_cpe_matches_regresshion_through_the_nvd_range() -> None:
    service, _, _ = catalog()
    result = await service.match(Query(cpe=SSH_CPE))
    assert result.product_key == "openbsd:openssh"
    by_id = {c.match.cve_id: c for c in result.matches}
    assert set(by_id) == {"CVE-2024-6387", "CVE-2023-38408"}  # 9.1-only CVE-2023-25136 does not apply
    hit = by_id["CVE-2024-6387"].match
    assert (hit.verdict, hit.basis, hit.tentative) == (Verdict.AFFECTED, Basis.NVD, False)
    assert hit.cpe_match is not None
    assert hit.cpe_match.version_start_including == "8.6"
    assert [s.kind for s in result.sources] == [FeedKind.STARTER]


async def test_a_match_reads_from_the_store_only_the_records_it_returns() -> None:
    """The index keeps no full records: a match loads the records of the CVEs it returns, nothing else."""
    service, store, _ = catalog()
    await service.refresh()
    store.asked.clear()
    result = await service.match(Query(cpe=SSH_CPE))
    returned = {c.match.cve_id for c in result.matches}
    assert returned == {"CVE-2024-6387", "CVE-2023-38408"}
    assert [set(ids) for ids in store.asked] == [returned]
    for c in result.matches:
        assert c.match.record is not None
        assert c.match.record.id == c.match.cve_id
    entry = await service.entry("cve-2024-6387")
    assert entry.record.id == "CVE-2024-6387"
    assert len(store.asked) == 1  # just read: kept for the next answer of this generation
    await service.entry("CVE-2021-41773")
    assert store.asked[-1] == ["CVE-2021-41773"]


async def test_product_and_version_match_like_the_cpe_and_a_debian_banner_makes_them_tentative() -> None:
    service, _, _ = catalog()
    plain = await service.match(Query(product="OpenSSH", version="9.2p1"))
    assert {c.match.cve_id for c in plain.matches} == {"CVE-2024-6387", "CVE-2023-38408"}
    debian = await service.match(
        Query(product="OpenSSH", version="9.2p1", banner="SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3")
    )
    assert debian.matches
    assert all(c.match.tentative for c in debian.matches)
    assert all("backported" in (c.match.tentative_reason or "") for c in debian.matches)


async def test_a_product_without_cves_answers_an_empty_list() -> None:
    service, _, _ = catalog()
    assert (await service.match(Query(product="no-such-daemon", version="1.0"))).matches == ()
    assert (await service.match(Query(cpe="cpe:2.3:a:example:nothing:1.0:*:*:*:*:*:*:*"))).matches == ()


async def test_a_query_needs_a_cpe_or_a_product_and_version_and_a_valid_cpe() -> None:
    service, _, _ = catalog()
    with pytest.raises(InvalidArgument):
        await service.match(Query(product="openssh"))
    with pytest.raises(InvalidArgument):
        await service.match(Query(cpe="cpe:2.3:a:broken"))


async def test_the_index_follows_a_generation_switch_and_is_not_rebuilt_otherwise() -> None:
    service, store, _ = catalog()
    await service.match(Query(cpe=SSH_CPE))
    await service.entry("CVE-2024-6387")
    assert store.reads == 1
    newer = [s for s in starter_records("imp_nvd") if s.cve_id != "CVE-2024-6387"]
    store.activate(newer, FeedKind.NVD, "imp_nvd", datetime.now(UTC))
    result = await service.match(Query(cpe=SSH_CPE))
    assert {c.match.cve_id for c in result.matches} == {"CVE-2023-38408"}
    assert store.reads == 2
    with pytest.raises(CatalogEntryNotFound):
        await service.entry("CVE-2024-6387")


async def test_the_servicer_answers_the_catalog_rpcs_as_protobuf() -> None:
    service, _, feeds = catalog()
    parts = assemble(
        FakeActivityRepository(),
        incidents=incident_parts(FakeIncidents(), FakeAssets(), RecordingNotifier()),
        knowledge=feeds,
        catalog=service,
    )
    context = cast(Any, None)
    entry = await parts.servicer.GetCatalogEntry(
        threat_pb2.GetCatalogEntryRequest(cve_id="CVE-2024-6387"), context
    )
    assert (entry.chosen.version, entry.chosen.base_score) == ("3.1", 8.1)
    assert [w.cwe_id for w in entry.weaknesses] == ["CWE-362", "CWE-364"]
    assert entry.weaknesses[0].name.startswith("Concurrent Execution")
    assert not entry.HasField("kev")
    assert entry.epss.score == pytest.approx(0.99506)
    assert any(a.start_including == "8.6" and a.end_excluding == "9.8" for a in entry.affected)
    assert {p.feed for p in entry.provenance} == {threat_pb2.FEED_KIND_STARTER}
    matches = await parts.servicer.MatchCatalog(threat_pb2.MatchCatalogRequest(cpe=SSH_CPE), context)
    assert matches.product_key == "openbsd:openssh"
    first = next(m for m in matches.matches if m.cve_id == "CVE-2024-6387")
    assert (first.basis, first.verdict, first.matched_range.end_excluding) == (
        "nvd_configurations",
        "affected",
        "9.8",
    )
    assert first.severity.base_score == 8.1
    assert first.priority.priority == "attend"
    assert [s.kind for s in matches.sources] == [threat_pb2.FEED_KIND_STARTER]


async def test_a_query_during_a_rebuild_is_answered_from_the_previous_generation() -> None:
    service, store, _ = catalog()
    await service.refresh()
    gate = asyncio.Event()
    reading = store.all

    async def slow_all(generation: int | None = None) -> AsyncIterator[StoredCve]:
        await gate.wait()
        async for stored in reading(generation):
            yield stored

    store.all = slow_all  # type: ignore[method-assign]
    store.activate([], FeedKind.NVD, "imp_empty", datetime.now(UTC))
    async with asyncio.timeout(5):
        rebuild = asyncio.create_task(service.refresh())
        await asyncio.sleep(0)  # the rebuild holds the lock, waiting on the store
        during = await service.match(Query(cpe=SSH_CPE))
        assert "CVE-2024-6387" in {c.match.cve_id for c in during.matches}
        gate.set()
        await rebuild
    assert (await service.match(Query(cpe=SSH_CPE))).matches == ()
