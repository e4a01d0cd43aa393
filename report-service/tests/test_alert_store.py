"""Alert preferences on the real store (nx-27017): one document per organisation."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator

import pytest
from pymongo import AsyncMongoClient

from rampart.lib.store import Document
from rampart_report.alerts.model import AlertPreferences, RuleChange
from rampart_report.alerts.repository import MongoPreferencesRepository
from tests.servers import Running, started

pytestmark = pytest.mark.service


@pytest.fixture(scope="module")
def store_server() -> Iterator[Running]:
    with started("nx-27017") as server:
        yield server


@pytest.fixture
async def repository(store_server: Running) -> AsyncIterator[MongoPreferencesRepository]:
    client: AsyncMongoClient[Document] = AsyncMongoClient(
        f"mongodb://127.0.0.1:{store_server.port}/?directConnection=true", tz_aware=True
    )
    yield MongoPreferencesRepository(client[f"report_{time.monotonic_ns()}"])
    await client.close()


async def test_preferences_round_trip_per_organisation_and_a_save_replaces_them(
    repository: MongoPreferencesRepository,
) -> None:
    assert await repository.get("org_a") is None
    first = AlertPreferences("org_a").updated(
        {"new_finding": RuleChange(min_severity="critical"), "certificate_expiring": RuleChange(days=7)},
        replace_all=False,
        now=10.0,
    )
    await repository.save(first)
    assert await repository.get("org_a") == first
    assert await repository.get("org_b") is None
    second = first.updated({"port_closed": RuleChange(enabled=True)}, replace_all=True, now=20.0)
    await repository.save(second)
    stored = await repository.get("org_a")
    assert stored == second
    assert stored is not None
    assert stored.rule("new_finding").min_severity == "high"  # PUT reset it
