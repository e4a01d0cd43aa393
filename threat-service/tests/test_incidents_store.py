"""The incident repository on the real store (nx-27017)."""

from __future__ import annotations

import copy
import time
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import pytest
from incidents_fakes import T0
from pymongo import AsyncMongoClient

from rampart.lib.store import Document
from rampart_threat.incidents.domain import Comment, Incident, Severity, Status
from rampart_threat.incidents.repository import (
    IncidentFilter,
    IncidentOrder,
    MongoIncidentRepository,
    micros,
)
from rampart_threat.incidents.triage import SlaTable, triage
from tests.servers import Running, started

pytestmark = pytest.mark.service


@pytest.fixture(scope="module")
def store_server() -> Iterator[Running]:
    with started("nx-27017") as server:
        yield server


@pytest.fixture
async def db(store_server: Running) -> AsyncIterator[object]:
    client: AsyncMongoClient[Document] = AsyncMongoClient(
        f"mongodb://127.0.0.1:{store_server.port}/?directConnection=true", tz_aware=True
    )
    yield client[f"threat_{time.monotonic_ns()}"]
    await client.close()


def make(n: int, severity: Severity, org: str = "org_a") -> tuple[Incident, int]:
    at = T0 + timedelta(minutes=n)
    found = Incident.open(
        f"inc_{n}", org, "usr_a", at, title=f"i{n}", severity=severity, affected_systems=("10.0.0.5",)
    )
    found.record_triage(triage(found, [], SlaTable.load()), at)
    return found, micros(at) * 1000 + n


async def test_an_incident_round_trips_with_its_timeline_comments_and_triage(db: object) -> None:
    repository = MongoIncidentRepository(db)  # type: ignore[arg-type]
    await repository.create_indexes()
    incident, key = make(1, Severity.HIGH)
    assert await repository.add(incident, key)
    assert not await repository.add(incident, key)  # the id exists
    incident.triage_done("usr_a", T0 + timedelta(hours=1), "looked")
    incident.comment(Comment("cmt_1", "usr_a", "proxy logs attached", T0 + timedelta(hours=2)))
    assert await repository.save(incident)
    stored = await repository.get("org_a", "inc_1")
    assert stored is not None
    assert stored.timeline == incident.timeline
    assert stored.comments == incident.comments
    assert stored.triage == incident.triage
    assert stored.status is Status.TRIAGED
    assert stored.version == 1
    assert await repository.get("org_b", "inc_1") is None


async def test_a_save_from_a_stale_copy_loses(db: object) -> None:
    repository = MongoIncidentRepository(db)  # type: ignore[arg-type]
    incident, key = make(1, Severity.LOW)
    await repository.add(incident, key)
    stale = copy.deepcopy(incident)
    incident.triage_done("usr_a", T0)
    assert await repository.save(incident)
    stale.change_severity(Severity.HIGH, "usr_b", T0, "r")
    assert not await repository.save(stale)
    stored = await repository.get("org_a", "inc_1")
    assert stored is not None
    assert stored.severity is Severity.LOW


async def test_find_filters_sorts_and_pages_by_key(db: object) -> None:
    repository = MongoIncidentRepository(db)  # type: ignore[arg-type]
    await repository.create_indexes()
    rows = [make(n, s) for n, s in enumerate([Severity.LOW, Severity.CRITICAL, Severity.HIGH, Severity.HIGH])]
    rows.append(make(9, Severity.CRITICAL, org="org_b"))
    for incident, key in rows:
        await repository.add(incident, key)
    found, total = await repository.find(
        IncidentFilter("org_a", severity=Severity.HIGH), IncidentOrder(), 0, 10
    )
    assert [i.title for i, _ in found] == ["i3", "i2"]
    assert total == 2
    by_severity, _ = await repository.find(IncidentFilter("org_a"), IncidentOrder("severity"), 0, 10)
    assert [i.title for i, _ in by_severity] == ["i1", "i3", "i2", "i0"]
    first, total = await repository.find(IncidentFilter("org_a"), IncidentOrder(), 0, 2)
    rest, _ = await repository.find(IncidentFilter("org_a"), IncidentOrder(), 0, 10, after_key=first[-1][1])
    assert [i.title for i, _ in first + rest] == ["i3", "i2", "i1", "i0"]
    assert total == 4
    window = IncidentFilter("org_a", min_key=rows[1][1], max_key=rows[3][1])
    assert [i.title for i, _ in (await repository.find(window, IncidentOrder(), 0, 10))[0]] == ["i2", "i1"]
    assert [
        i.title for i, _ in (await repository.find(window, IncidentOrder(descending=False), 0, 10))[0]
    ] == [
        "i1",
        "i2",
    ]
