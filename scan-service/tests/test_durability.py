"""Accepted scans are never lost nor doubled: creates under cancellation and crashes, leases, sweeps.

Against the real store (nx-27017 on a free loopback port); the broker is a recording fake.
A create is interrupted at every store command in turn: cancelling the caller (a client or
gateway gone) must change nothing, and stopping the create itself there (a process killed)
must leave what the sweeper and a keyed retry turn into exactly one runnable scan.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from pymongo import AsyncMongoClient, monitoring

from rampart.lib.ids import utcnow
from rampart.lib.outbox import Outbox
from rampart.lib.store import Document
from rampart_scan import domain
from rampart_scan.authorise import TargetAuthoriser
from rampart_scan.commands import Created, ScanCommands
from rampart_scan.domain import Owner, PlanLimits, ScanSpec
from rampart_scan.durable import Leases, Sweeper
from rampart_scan.events import ScanEvents
from rampart_scan.repository import ScanRepository
from rampart_scan.scope import ScopeBook
from rampart_scan.settings import ScanSettings
from tests.servers import Running, started

pytestmark = pytest.mark.service  # real servers or a real store: the middle tier

SETTINGS = ScanSettings(
    mongodb_url="mongodb://127.0.0.1:1",
    nats_url="nats://127.0.0.1:1",
    port=0,
    idempotency_grace_seconds=0.3,
    requeue_after_seconds=1.0,
)
orgs = itertools.count()


class Tripwire(monitoring.CommandListener):
    """Calls ``action`` when the store receives its ``at``-th command after being armed."""

    def __init__(self) -> None:
        self.at = 0
        self.seen = 0
        self.action: Any = None

    def arm(self, at: int, action: Any) -> None:
        self.at, self.seen, self.action = at, 0, action

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.seen += 1
        if self.action is not None and self.seen == self.at:
            action, self.action = self.action, None
            action()

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


class Published:
    """Stands in for the broker: records what the outbox sends."""

    def __init__(self) -> None:
        self.ids: list[str] = []

    async def publish(self, subject: str, payload: bytes, msg_id: str, request_id: str | None = None) -> bool:
        self.ids.append(msg_id)
        return True


@pytest.fixture(scope="module")
def store_server() -> Iterator[Running]:
    with started("nx-27017") as server:
        yield server


@pytest.fixture
async def platform(
    store_server: Running,
) -> AsyncIterator[tuple[ScanCommands, ScanRepository, Sweeper, Tripwire, Published]]:
    tripwire, published = Tripwire(), Published()
    client: AsyncMongoClient[Document] = AsyncMongoClient(
        f"mongodb://127.0.0.1:{store_server.port}/?directConnection=true", event_listeners=[tripwire]
    )
    db = client["rampart_scan"]
    repo = ScanRepository(db)
    await repo.create_indexes()
    outbox = Outbox(db["outbox"], published)  # type: ignore[arg-type]
    commands = ScanCommands(repo, ScanEvents(outbox), TargetAuthoriser(ScopeBook(None), SETTINGS), SETTINGS)
    yield commands, repo, Sweeper(repo, outbox, 1.0, SETTINGS.requeue_after_seconds), tripwire, published
    await client.close()


async def create(commands: ScanCommands, org: str, key: str) -> Created:
    """A keyed create by a test key of ``org`` (sandbox: no scope, no packet)."""
    owner = Owner(user_id=f"usr_{org}", org_id=org, sandbox=True)
    spec = ScanSpec(targets=("127.0.0.1",), ports="1-10")
    return await commands.create(owner, spec, PlanLimits(concurrent=3, daily=50), key, "req")


async def counters(repo: ScanRepository, org: str) -> tuple[int, int, int]:
    """(slot counter, daily counter, active scans)."""
    slot = await repo.slots.find_one({"_id": org}) or {"active": 0}
    daily = await repo.daily.find_one({"org_id": org}) or {}
    async for doc in repo.daily.find({}):
        if str(doc["_id"]).startswith(f"{org}|"):
            daily = doc
    active = await repo.scans.count_documents({"org_id": org, "status": {"$in": list(domain.ACTIVE_STATES)}})
    return int(slot["active"]), int(daily.get("count", 0)), active


async def commands_of_a_create(commands: ScanCommands, tripwire: Tripwire) -> int:
    """The store commands an undisturbed create sends before it answers (each is a point to stop at)."""
    tripwire.arm(0, None)
    await create(commands, f"org_count{next(orgs)}", "k1")
    sent = tripwire.seen
    await commands.settled()
    assert sent >= 5  # claims, the scan, its outbox entries: a create that stopped counting would pass
    return sent


async def test_a_create_cancelled_at_any_point_leaves_one_scan_and_no_leak(platform: Any) -> None:
    """The caller going away (cancelled RPC) at each store command changes nothing."""
    commands, repo, _, tripwire, published = platform
    for at in range(1, await commands_of_a_create(commands, tripwire) + 1):
        org = f"org_cancel{next(orgs)}"
        call = asyncio.ensure_future(create(commands, org, "k1"))
        tripwire.arm(at, call.cancel)
        with pytest.raises(asyncio.CancelledError):
            await call
        await commands.settled()
        first = (await create(commands, org, "k1")).scan
        second = (await create(commands, org, "k1")).scan
        assert first.id == second.id, at
        assert await repo.scans.count_documents({"org_id": org}) == 1, at
        assert await counters(repo, org) == (1, 1, 1), at
        assert f"{first.id}.job" in published.ids, at


async def test_a_create_killed_at_any_point_is_repaired_into_one_runnable_scan(platform: Any) -> None:
    """The create itself stopping at each store command (a crash): sweeps and a retry repair it."""
    commands, repo, sweeper, tripwire, published = platform
    for at in range(1, await commands_of_a_create(commands, tripwire) + 1):
        org = f"org_crash{next(orgs)}"
        call = asyncio.ensure_future(create(commands, org, "k1"))

        def crash() -> None:
            for admission in list(commands._admitting):
                admission.cancel()

        tripwire.arm(at, crash)
        with pytest.raises(asyncio.CancelledError):
            await call
        await sweeper.sweep()
        retried = (await create(commands, org, "k1")).scan
        await sweeper.sweep()
        await sweeper.sweep()  # a counter is repaired when it disagrees twice in a row
        assert await repo.scans.count_documents({"org_id": org}) == 1, at
        assert f"{retried.id}.job" in published.ids, at  # the replayed scan can run
        slot, daily, active = await counters(repo, org)
        assert (slot, daily, active) == (1, 1, 1), at


async def test_a_lease_lets_one_worker_run_a_scan_and_an_expired_one_is_taken_over(platform: Any) -> None:
    commands, repo, *_ = platform
    scan = (await create(commands, f"org_lease{next(orgs)}", "")).scan
    first, second = Leases(repo, "w1", 30, 60), Leases(repo, "w2", 30, 60)
    held = await first.claim(scan)
    assert held is not None
    assert (held.status, held.attempts) == ("running", 1)
    assert await second.claim(scan) is None  # a second delivery is not run
    assert await first.renew(held)
    await repo.scans.update_one({"_id": scan.id}, {"$set": {"lease_until": 0.0}})  # w1 died
    taken = await second.claim(scan)
    assert taken is not None
    assert taken.attempts == 2
    assert not await first.renew(held)
    assert await first.finish(held.finish("completed", utcnow(), held.counts)) is None
    done = await second.finish(taken.finish("completed", utcnow(), taken.counts))
    assert done is not None
    assert done.status == "completed"


async def test_an_active_scan_nobody_touches_is_requeued_once_per_period(platform: Any) -> None:
    commands, repo, sweeper, _, published = platform
    scan = (await create(commands, f"org_stale{next(orgs)}", "")).scan
    await repo.scans.update_one({"_id": scan.id}, {"$set": {"stale_at": 0.0}})  # its job was lost
    await sweeper.requeue_stale()
    await sweeper.requeue_stale()
    assert published.ids.count(f"{scan.id}.job.1") == 1
    assert f"{scan.id}.job.2" not in published.ids
