"""Webhooks on the real store (nx-27017): idempotent queuing, tenancy, leases, and a restart.

A "restart" is what a report-service process leaves behind: the store. A new repository and
dispatcher on a new client resume what the old one had pending or was in the middle of.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import pytest
from pymongo import AsyncMongoClient
from webhook_fakes import settings

from rampart.lib.ids import utcnow
from rampart.lib.store import Document
from rampart_report.bootstrap import webhook_parts
from rampart_report.webhooks import signing
from rampart_report.webhooks.domain import DeliveryStatus, WebhookEvent
from rampart_report.webhooks.repository import MongoWebhookRepository, Share
from tests.servers import Running, started
from tests.webhook_receiver import Receiver, Reply, receiving

pytestmark = [pytest.mark.service, pytest.mark.timeout(60)]


@pytest.fixture(scope="module")
def store_server() -> Iterator[Running]:
    with started("nx-27017") as server:
        yield server


@pytest.fixture
def database() -> str:
    return f"report_{time.monotonic_ns()}"


Opener = Callable[[], Awaitable[MongoWebhookRepository]]


@pytest.fixture
async def open_repository(store_server: Running, database: str) -> AsyncIterator[Opener]:
    """Each call is a new client on the same database: a process starting again."""
    clients: list[AsyncMongoClient[Document]] = []

    async def opener() -> MongoWebhookRepository:
        client: AsyncMongoClient[Document] = AsyncMongoClient(
            f"mongodb://127.0.0.1:{store_server.port}/?directConnection=true", tz_aware=True
        )
        clients.append(client)
        repository = MongoWebhookRepository(client[database])
        await repository.create_indexes()
        return repository

    yield opener
    for client in clients:
        await client.close()


async def until(check: Callable[[], Awaitable[bool]], seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not await check():
        if time.monotonic() > deadline:
            pytest.fail("condition not reached in time")
        await asyncio.sleep(0.05)


def event(event_id: str = "evt_1") -> WebhookEvent:
    return WebhookEvent(event_id, "scan.completed", "org_a", utcnow(), {"scan_id": "scan_1"})


async def test_queuing_is_idempotent_reads_are_per_organisation_and_a_webhook_round_trips(
    open_repository: Opener,
) -> None:
    repository = await open_repository()
    webhooks, _ = webhook_parts(settings(), repository)
    created = await webhooks.create(
        "org_a", "u", "http://127.0.0.1:9/h", ("scan.completed",), description="d"
    )
    hook_id = created.webhook.webhook_id
    assert await repository.get_webhook("org_a", hook_id) == created.webhook
    assert await repository.get_webhook("org_b", hook_id) is None
    await webhooks.publish(event())
    await webhooks.publish(event())
    (delivery,) = await repository.list_deliveries("org_a", hook_id, 0, 10)
    assert await repository.list_deliveries("org_b", hook_id, 0, 10) == []
    assert await repository.get_delivery("org_b", hook_id, delivery.delivery_id) is None
    rotated = await webhooks.rotate("org_a", hook_id, grace_seconds=60)
    stored = await repository.get_webhook("org_a", hook_id)
    assert stored == rotated.webhook
    assert not await repository.delete_webhook("org_b", hook_id)
    assert await repository.delete_webhook("org_a", hook_id)


async def test_a_claimed_delivery_is_not_claimed_again_until_its_lease_runs_out(
    open_repository: Opener,
) -> None:
    repository = await open_repository()
    webhooks, _ = webhook_parts(settings(), repository)
    await webhooks.create("org_a", "u", "http://127.0.0.1:9/h", ("scan.completed",))
    await webhooks.publish(event())
    now = time.time() + 1
    (claimed,) = await repository.claim_due(now, 30.0, 10)
    assert await repository.claim_due(now + 29, 30.0, 10) == []
    (again,) = await repository.claim_due(now + 31, 30.0, 10)
    assert again.delivery_id == claimed.delivery_id


async def test_a_restart_resumes_pending_deliveries_and_a_crashed_attempt_is_sent_again(
    open_repository: Opener,
) -> None:
    receiver = Receiver().then(Reply(503, b"maintenance"))
    overrides = {"webhook_retry_base_seconds": 0.4, "webhook_retry_cap_seconds": 0.5}
    with receiving(receiver):
        first = await open_repository()
        webhooks, dispatcher = webhook_parts(settings(**overrides), first)
        hook = (await webhooks.create("org_a", "u", receiver.url(), ("scan.completed",))).webhook
        await webhooks.publish(event("evt_1"))
        running = asyncio.create_task(dispatcher.run())

        async def first_attempt_failed() -> bool:
            found = await first.list_deliveries("org_a", hook.webhook_id, 0, 10)
            return bool(found) and found[0].attempts == 1

        await until(first_attempt_failed)
        running.cancel()  # the process stops with the retry still pending
        await asyncio.gather(running, return_exceptions=True)
        await webhooks.publish(event("evt_2"))  # queued while no dispatcher runs
        (crashed,) = [
            d for d in await first.claim_due(time.time() + 0.5, 0.5, 10) if d.event_id == "evt_2"
        ]  # claimed, then the process dies before sending

        second = await open_repository()
        _, resumed = webhook_parts(settings(**overrides), second)
        running = asyncio.create_task(resumed.run())

        async def all_delivered() -> bool:
            found = await second.list_deliveries("org_a", hook.webhook_id, 0, 10)
            return len(found) == 2 and all(d.status is DeliveryStatus.DELIVERED for d in found)

        await until(all_delivered)
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
    ids = [r.headers[signing.DELIVERY] for r in receiver.received]
    assert len(ids) == 3  # evt_1 twice (503, then 200), evt_2 once
    assert ids.count(crashed.delivery_id) == 1
    log = {
        d.event_id: [a.status_code for a in d.log]
        for d in await second.list_deliveries("org_a", hook.webhook_id, 0, 10)
    }
    assert log == {"evt_1": [503, 200], "evt_2": [200]}


async def test_a_claim_takes_no_more_of_a_webhook_than_the_room_it_is_given(open_repository: Opener) -> None:
    repository = await open_repository()
    webhooks, _ = webhook_parts(settings(), repository)
    slow = (await webhooks.create("org_a", "u", "http://127.0.0.1:9/slow", ("scan.completed",))).webhook
    fast = (await webhooks.create("org_a", "u", "http://127.0.0.1:9/fast", ("scan.completed",))).webhook
    for n in range(3):
        await webhooks.publish(event(f"evt_{n}"))
    now = time.time() + 1
    share = Share(
        {slow.webhook_id: 3, fast.webhook_id: 1}, per_webhook=3
    )  # slow is full; fast has room for 2
    claimed = await repository.claim_due(now, 30.0, 10, share)
    assert [d.webhook_id for d in claimed] == [fast.webhook_id] * 2
    rest = await repository.claim_due(now, 30.0, 10)
    assert sorted(d.webhook_id for d in rest) == sorted([slow.webhook_id] * 3 + [fast.webhook_id])


async def test_endpoint_health_counts_failures_resets_on_success_and_disables_once(
    open_repository: Opener,
) -> None:
    repository = await open_repository()
    webhooks, _ = webhook_parts(settings(), repository)
    hook = (await webhooks.create("org_a", "u", "http://127.0.0.1:9/h", ("scan.completed",))).webhook
    await repository.record_health("org_a", hook.webhook_id, False, 100.0)
    failed = await repository.record_health("org_a", hook.webhook_id, False, 200.0)
    assert failed is not None
    assert (failed.failing_since, failed.failed_attempts) == (100.0, 2)
    healthy = await repository.record_health("org_a", hook.webhook_id, True, 300.0)
    assert healthy is not None
    assert (healthy.failing_since, healthy.failed_attempts) == (0.0, 0)
    again = await repository.record_health("org_a", hook.webhook_id, False, 400.0)
    assert again is not None
    assert again.failing_since == 400.0
    assert await repository.record_health("org_b", hook.webhook_id, False, 400.0) is None
    assert not await repository.disable("org_b", hook.webhook_id, "no", 500.0)
    assert await repository.disable("org_a", hook.webhook_id, "failed for 24 h", 500.0)
    assert not await repository.disable("org_a", hook.webhook_id, "again", 600.0)  # one process wins
    off = await webhooks.get("org_a", hook.webhook_id)
    assert (off.enabled, off.disabled_reason, off.disabled_at) == (False, "failed for 24 h", 500.0)
    assert await repository.subscribers("org_a", "scan.completed") == []
