"""The vulnerability ledger on the real store (nx-27017): its queries, conditional writes and indexes."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import pytest
from findings_fakes import T0, Clock, Scan
from pymongo import AsyncMongoClient

from rampart.lib.store import Document
from rampart_threat.findings.domain import Status, VulnerabilityNotFound, vulnerability_id
from rampart_threat.findings.ledger import MongoFindingLedger
from rampart_threat.findings.model import FindingType, Severity
from rampart_threat.findings.ports import Coverage
from rampart_threat.findings.repository import SightingMark, Sort
from rampart_threat.findings.service import Listing, Triage, Viewer
from tests.servers import Running, started

pytestmark = pytest.mark.service

OWNER = Viewer("org_a", True, "usr_a")


@pytest.fixture(scope="module")
def store_server() -> Iterator[Running]:
    with started("nx-27017") as server:
        yield server


@pytest.fixture
async def db(store_server: Running) -> AsyncIterator[Any]:
    client: AsyncMongoClient[Document] = AsyncMongoClient(
        f"mongodb://127.0.0.1:{store_server.port}/?directConnection=true", tz_aware=True
    )
    yield client[f"threat_{time.monotonic_ns()}"]
    await client.close()


async def ledger(db: Any) -> tuple[MongoFindingLedger, Clock]:
    clock = Clock(T0 + timedelta(days=5))
    found = MongoFindingLedger(db, clock)
    await found.create_indexes()
    return found, clock


def covering(scan: Scan, ports: tuple[int, ...] = (22,)) -> Coverage:
    return Coverage(
        scan.scan_id, scan.org_id, scan.live, frozenset({"10.0.0.5"}), frozenset((p, "tcp") for p in ports)
    )


async def test_a_record_round_trips_with_its_observation_sightings_and_history(db: Any) -> None:
    service, _ = await ledger(db)
    finding = Scan("scan_1").finding(
        cwe=("CWE-362",), references=("https://example.org/a",), epss=0.5, kev=True, priority="act"
    )
    sighting = await service.record(finding)
    await service.record(Scan("scan_2", T0 + timedelta(days=1)).finding(epss=0.5, kev=True, priority="act"))
    record = await service.get(OWNER, sighting.vulnerability_id)
    assert (record.first_seen, record.last_seen) == (T0, T0 + timedelta(days=1))
    assert [s.scan_id for s in record.sightings] == ["scan_2", "scan_1"]
    assert record.observation.evidence == {"scan": "scan_2"}
    assert (record.observation.kev, record.observation.epss, record.observation.cvss_score) == (
        True,
        0.5,
        9.8,
    )
    assert record.history[0].after == "open"
    assert record.version == 1


async def test_a_redelivered_finding_changes_nothing_in_the_store(db: Any) -> None:
    service, _ = await ledger(db)
    finding = Scan("scan_1").finding()
    await service.record(finding)
    before = await db["vulnerabilities"].find_one({})
    again = await service.record(finding)
    assert again.changed is False
    assert await db["vulnerabilities"].find_one({}) == before
    assert await db["vulnerability_sightings"].count_documents({}) == 1


async def test_a_crash_after_the_marker_is_finished_by_the_redelivery(db: Any) -> None:
    service, _ = await ledger(db)
    finding = Scan("scan_1").finding()
    record_id = vulnerability_id(finding.fingerprint)
    mark = SightingMark(record_id, "org_a", True, "scan_1", finding.severity, finding.detected_at)
    await service.store.mark(mark)  # the first delivery stopped here
    sighting = await service.record(finding)
    assert (sighting.changed, sighting.first_sighting) == (True, True)
    marker = await db["vulnerability_sightings"].find_one({"_id": f"{record_id}:scan_1"})
    assert marker["applied"]  # nx-27017 reads a $set true back as 1
    assert len((await service.get(OWNER, record_id)).history) == 1


async def test_settle_resolves_unseen_records_once_and_a_later_sighting_reopens(db: Any) -> None:
    service, _ = await ledger(db)
    gone = (await service.record(Scan("scan_1").finding())).vulnerability_id
    kept = (await service.record(Scan("scan_1").finding("RMP-TLS-001", port=443))).vulnerability_id
    second = Scan("scan_2", T0 + timedelta(days=1))
    still = (await service.record(second.finding("RMP-SSH-002", severity=Severity.LOW))).vulnerability_id
    settled = await service.settle(covering(second))
    assert await service.settle(covering(second)) == settled
    assert (settled.findings, settled.resolved, settled.by_severity["low"]) == (1, 1, 1)
    assert (await service.get(OWNER, gone)).status is Status.RESOLVED
    assert (await service.get(OWNER, kept)).status is Status.OPEN  # port 443 was not covered
    assert (await service.get(OWNER, still)).status is Status.OPEN
    again = await service.record(Scan("scan_3", T0 + timedelta(days=2)).finding())
    assert again.status == "reopened"


async def test_triage_is_stored_and_tenancy_holds(db: Any) -> None:
    service, _ = await ledger(db)
    record_id = (await service.record(Scan("scan_1").finding())).vulnerability_id
    until = T0 + timedelta(days=30)
    await service.update(OWNER, record_id, Triage(Status.ACCEPTED_RISK, "legacy", until, assignee="usr_b"))
    record = await service.get(OWNER, record_id)
    assert (record.status, record.accepted_until, record.assignee) == (Status.ACCEPTED_RISK, until, "usr_b")
    for stranger in (Viewer("org_b", True, "usr_b"), Viewer("org_a", False, "usr_a")):
        with pytest.raises(VulnerabilityNotFound):
            await service.get(stranger, record_id)


async def test_listing_filters_sorts_and_pages_on_the_store(db: Any) -> None:
    service, _ = await ledger(db)
    first, second = Scan("scan_1"), Scan("scan_2", T0 + timedelta(days=1))
    names = {}
    for name, finding in {
        "agent": first.finding("CVE-2023-38408", priority="act", kev=True),
        "tls": first.finding("RMP-TLS-003", port=443, severity=Severity.MEDIUM),
        "redis": second.finding("RMP-AUTH-001", port=6379, severity=Severity.HIGH, type=FindingType.EXPOSURE),
        "apache": second.finding("CVE-2021-41773", port=80, severity=Severity.HIGH, cvss_score=7.5),
        "test": Scan("scan_t", live=False).finding(),
        "other": Scan("scan_o", org_id="org_b").finding(),
    }.items():
        names[(await service.record(finding)).vulnerability_id] = name
    await service.record(second.finding("CVE-2023-38408", priority="act", kev=True))  # rewritten by $set

    async def listed(**fields: Any) -> list[str]:
        page = await service.list(OWNER, Listing(**fields))
        return [names[v.vulnerability_id] for v in page.items]

    assert await listed() == ["agent", "apache", "redis", "tls"]
    assert await listed(severities=frozenset({Severity.HIGH})) == ["apache", "redis"]
    assert await listed(kev=True) == ["agent"]
    assert await listed(cve="CVE-2021-41773") == ["apache"]
    assert await listed(port=443, host="10.0.0.5") == ["tls"]
    assert await listed(type=FindingType.EXPOSURE) == ["redis"]
    assert await listed(scan_id="scan_1") == ["agent", "tls"]
    assert await listed(statuses=frozenset({Status.OPEN, Status.REOPENED})) == [
        "agent",
        "apache",
        "redis",
        "tls",
    ]
    assert await listed(first_seen_after=T0 + timedelta(hours=1)) == ["apache", "redis"]
    assert await listed(scan_id="scan_2") == ["agent", "apache", "redis"]
    assert await listed(first_seen_before=T0 + timedelta(hours=1), sort=Sort.SEVERITY) == ["agent", "tls"]
    assert (await listed(sort=Sort.LAST_SEEN, descending=False))[2:] in (
        ["apache", "redis"],
        ["redis", "apache"],
    )
    seen: list[str] = []
    cursor = ""
    while True:
        page = await service.list(OWNER, Listing(sort=Sort.FIRST_SEEN, per_page=3, cursor=cursor))
        assert (page.total, page.pages) == (4, 2)
        seen.extend(names[v.vulnerability_id] for v in page.items)
        if not (cursor := page.next_cursor):
            break
    assert sorted(seen) == ["agent", "apache", "redis", "tls"]


async def test_the_indexes_are_created_at_startup(db: Any) -> None:
    await ledger(db)
    records = await db["vulnerabilities"].index_information()
    sightings = await db["vulnerability_sightings"].index_information()
    assert any("priority_key" in str(index["key"]) for index in records.values())
    assert any("scan_id" in str(index["key"]) for index in sightings.values())


async def test_many_findings_at_once_on_the_store_record_each_once_and_a_redelivery_nothing(db: Any) -> None:
    """The batch path's unordered inserts, ``$in`` reads and bulk version-guarded saves on nx-27017:
    a marker left by a crash, an existing record, new ones, a repeat inside the batch; then the
    whole batch again."""
    service, _ = await ledger(db)
    await service.record(Scan("scan_1").finding("RMP-SSH-001"))
    scan = Scan("scan_2", T0 + timedelta(days=1))
    crashed = scan.finding("CVE-2023-38408")
    record_id = vulnerability_id(crashed.fingerprint)
    await service.store.mark(
        SightingMark(record_id, "org_a", True, "scan_2", crashed.severity, crashed.detected_at)
    )
    batch = [
        crashed,
        scan.finding("RMP-SSH-001"),
        *(scan.finding(port=p) for p in range(8000, 8020)),
        crashed,
    ]
    sightings = await service.record_many(batch)
    assert [s.changed for s in sightings] == [True] * 22 + [False]
    assert await db["vulnerabilities"].count_documents({}) == 22
    assert await db["vulnerability_sightings"].count_documents({"scan_id": "scan_2"}) == 22
    assert await db["vulnerability_sightings"].count_documents({"applied": False}) == 0
    before = [doc async for doc in db["vulnerabilities"].find({}).sort("_id")]
    again = await service.record_many(batch)
    assert not any(s.changed for s in again)
    assert [doc async for doc in db["vulnerabilities"].find({}).sort("_id")] == before
    twice_seen = await service.get(OWNER, sightings[1].vulnerability_id)
    assert ([s.scan_id for s in twice_seen.sightings], len(twice_seen.history)) == (["scan_2", "scan_1"], 1)
