"""The compliance repository on the real store (nx-27017): tenancy, history order, snapshots by day."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from pymongo import AsyncMongoClient

from rampart.lib.store import Document
from rampart_report.compliance.domain import (
    Attestation,
    ControlChange,
    EvidenceFile,
    Snapshot,
    Status,
    Tenant,
)
from rampart_report.compliance.repository import MongoComplianceRepository
from tests.servers import Running, started

pytestmark = pytest.mark.service

AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ACME = Tenant("org_acme", "live", "usr_alice")
ACME_TEST = Tenant("org_acme", "test", "usr_alice")
GLOBEX = Tenant("org_globex", "live", "usr_bob")


@pytest.fixture(scope="module")
def store_server() -> Iterator[Running]:
    with started("nx-27017") as server:
        yield server


@pytest.fixture
async def repository(store_server: Running) -> AsyncIterator[MongoComplianceRepository]:
    client: AsyncMongoClient[Document] = AsyncMongoClient(
        f"mongodb://127.0.0.1:{store_server.port}/?directConnection=true", tz_aware=True
    )
    repository = MongoComplianceRepository(client[f"report_{time.monotonic_ns()}"])
    await repository.create_indexes()
    yield repository
    await client.close()


async def test_attestations_and_evidence_stay_in_their_organisation_and_world(
    repository: MongoComplianceRepository,
) -> None:
    await repository.attest(
        ACME, Attestation("gdpr:Art.33", Status.PASSING, "plan", "usr_c", "usr_alice", AT)
    )
    await repository.attest(
        ACME, Attestation("gdpr:Art.33", Status.FAILING, "lapsed", "usr_c", "usr_alice", AT)
    )
    evidence = EvidenceFile(
        "evd_1", "gdpr:Art.33", "p.pdf", "application/pdf", 9, "ab" * 32, "benign", "ana", "u", AT
    )
    await repository.add_evidence(ACME, evidence, b"%PDF-1.7\n")
    mine = await repository.attestations(ACME)
    assert mine["gdpr:Art.33"].status is Status.FAILING
    assert mine["gdpr:Art.33"].updated_at == AT
    assert await repository.attestations(GLOBEX) == {}
    assert await repository.attestations(ACME_TEST) == {}
    assert await repository.evidence_counts(ACME) == {"gdpr:Art.33": 1}
    assert await repository.evidence_counts(GLOBEX) == {}
    assert [e.sha256 for e in await repository.evidence(ACME, "gdpr:Art.33")] == ["ab" * 32]
    assert await repository.evidence(GLOBEX, "gdpr:Art.33") == []


async def test_changes_come_back_oldest_first_and_snapshots_one_per_day(
    repository: MongoComplianceRepository,
) -> None:
    for i, to in enumerate(("failing", "passing", "failing")):
        change = ControlChange("pci-dss:4.2.1", AT + timedelta(minutes=i), "rampart", "x", to)
        await repository.add_change(ACME, change)
    assert [c.to_status for c in await repository.changes(ACME, "pci-dss:4.2.1", 2)] == ["passing", "failing"]
    assert await repository.changes(GLOBEX, "pci-dss:4.2.1", 10) == []
    for day, score in (("2026-03-01", 50.0), ("2026-03-01", 60.0), ("2026-03-02", 70.0)):
        at = datetime.fromisoformat(day).replace(tzinfo=UTC)
        await repository.save_snapshot(
            ACME, Snapshot(day, at, {"pci-dss": score}, {"pci-dss:4.2.1": "failing"})
        )
    days = await repository.snapshots(ACME, AT - timedelta(days=1), AT + timedelta(days=5))
    assert [(s.day, s.scores["pci-dss"]) for s in days] == [("2026-03-01", 60.0), ("2026-03-02", 70.0)]
    assert days[0].statuses == {"pci-dss:4.2.1": "failing"}
    latest = await repository.latest_snapshot(ACME)
    assert latest is not None
    assert latest.day == "2026-03-02"
    assert await repository.latest_snapshot(GLOBEX) is None
