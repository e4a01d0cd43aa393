"""Webhook delivery figures: report-service's webhook layer on the real store (nx-27017) and real
HTTP receivers on 127.0.0.1, in one process (no broker: an event enters where the consumer hands
it over, ``WebhookService.publish``).

- event to delivery at a local receiver, one event at a time: p50 / p95 (budget: 1 s p95);
- ten endpoints, one of which answers after 10 s: deliveries per second to the nine others while
  the slow one holds its share of the slots (a backlog drained);
- a sustained stream of events to nine endpoints, with and without a tenth answering after 10 s:
  the nine's event-to-delivery p50 / p95 in both cases (isolation: the two should match).

Run: ``uv run python bench/webhooks_bench.py [--n N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pymongo import AsyncMongoClient

from rampart.lib.ids import utcnow
from rampart.lib.logging import configure_logging
from rampart.lib.store import Document
from rampart_report.bootstrap import webhook_parts
from rampart_report.settings import ReportSettings
from rampart_report.webhooks.domain import WebhookEvent
from rampart_report.webhooks.repository import MongoWebhookRepository
from tests.servers import started
from tests.webhook_receiver import Receiver, Reply, receiving

SLOW_SECONDS = 10.0


def settings() -> ReportSettings:
    return ReportSettings(
        mongodb_url="mongodb://unused",
        nats_url="nats://unused",
        webhook_secret_key="00" * 32,
        webhook_allow_networks="127.0.0.0/8",
        webhook_timeout_seconds=SLOW_SECONDS + 5,
        webhook_poll_seconds=1.0,
    )


def percentiles(samples: list[float]) -> tuple[float, float]:
    return statistics.median(samples), statistics.quantiles(samples, n=20)[-1]


async def wait_until(check, deadline: float) -> None:  # type: ignore[no-untyped-def]
    give_up = time.monotonic() + deadline
    while not check():
        if time.monotonic() > give_up:
            raise TimeoutError("deliveries did not arrive in time")
        await asyncio.sleep(0.001)


async def one_at_a_time(repository: MongoWebhookRepository, n: int) -> None:
    webhooks, dispatcher = webhook_parts(settings(), repository)
    runner = asyncio.create_task(dispatcher.run())
    samples = []
    with receiving() as receiver:
        await webhooks.create("org_lat", "u", receiver.url(), ("scan.completed",))
        for i in range(n):
            started_at = time.monotonic()
            await webhooks.publish(WebhookEvent(f"lat_{i}", "scan.completed", "org_lat", utcnow(), {"i": i}))
            await wait_until(lambda i=i: len(receiver.received) > i, 10)
            samples.append((receiver.received[i].at - started_at) * 1000)
    runner.cancel()
    await asyncio.gather(runner, return_exceptions=True)
    p50, p95 = percentiles(samples)
    print(f"event to delivery, one at a time (n={n}): p50 {p50:.1f} ms, p95 {p95:.1f} ms (budget 1000 ms)")


async def with_a_slow_endpoint(repository: MongoWebhookRepository, per_endpoint: int) -> None:
    """Everything is queued first, then the dispatcher starts: the drain rate is the dispatcher's."""
    webhooks, dispatcher = webhook_parts(settings(), repository)
    fast = [Receiver() for _ in range(9)]
    slow = Receiver()
    slow.default = Reply(delay=SLOW_SECONDS)
    with contextlib.ExitStack() as stack:
        for receiver in (slow, *fast):
            stack.enter_context(receiving(receiver))
        await webhooks.create("org_tp", "u", slow.url(), ("scan.completed",))
        for receiver in fast:
            await webhooks.create("org_tp", "u", receiver.url(), ("scan.completed",))
        queue_started = time.monotonic()
        for i in range(per_endpoint):
            await webhooks.publish(WebhookEvent(f"tp_{i}", "scan.completed", "org_tp", utcnow(), {"i": i}))
        queued_in = time.monotonic() - queue_started
        total = per_endpoint * len(fast)
        started_at = time.monotonic()
        runner = asyncio.create_task(dispatcher.run())
        await wait_until(lambda: sum(len(r.received) for r in fast) >= total, 300)
        elapsed = time.monotonic() - started_at
        slow_done = len(slow.received)
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
    print(
        f"10 endpoints x {per_endpoint} events queued in {queued_in:.2f} s"
        f" ({per_endpoint * 10 / queued_in:.0f} deliveries queued/s); then, with one endpoint answering"
        f" after {SLOW_SECONDS:.0f} s, the {total} deliveries to the 9 others took {elapsed:.2f} s"
        f" = {total / elapsed:.0f}/s, while the slow one had received {slow_done}"
        " (2 at a time: WEBHOOK_PER_ENDPOINT_CONCURRENCY)"
    )


async def sustained(repository: MongoWebhookRepository, n: int, rate: float, with_slow: bool) -> None:
    """Events published at ``rate``/s; each fast endpoint's event-to-delivery latency."""
    webhooks, dispatcher = webhook_parts(settings(), repository)
    org = f"org_sus_{with_slow:d}"
    fast = [Receiver() for _ in range(9)]
    slow = Receiver()
    slow.default = Reply(delay=SLOW_SECONDS)
    published: dict[str, float] = {}
    runner = asyncio.create_task(dispatcher.run())
    with contextlib.ExitStack() as stack:
        for receiver in (slow, *fast):
            stack.enter_context(receiving(receiver))
        if with_slow:
            await webhooks.create(org, "u", slow.url(), ("scan.completed",))
        for receiver in fast:
            await webhooks.create(org, "u", receiver.url(), ("scan.completed",))
        for i in range(n):
            event_id = f"sus_{with_slow:d}_{i}"
            published[event_id] = time.monotonic()
            await webhooks.publish(WebhookEvent(event_id, "scan.completed", org, utcnow(), {"i": i}))
            await asyncio.sleep(1 / rate)
        await wait_until(lambda: sum(len(r.received) for r in fast) >= n * len(fast), 120)
        slow_done = len(slow.received)
    runner.cancel()
    await asyncio.gather(runner, return_exceptions=True)
    samples = [(r.at - published[json.loads(r.body)["id"]]) * 1000 for f in fast for r in f.received]
    p50, p95 = percentiles(samples)
    label = f"with a 10th endpoint answering after {SLOW_SECONDS:.0f} s" if with_slow else "alone"
    extra = f" (the slow one had answered {slow_done})" if with_slow else ""
    print(
        f"sustained {rate:.0f} events/s x {n} to 9 endpoints, {label}: event to delivery"
        f" p50 {p50:.1f} ms, p95 {p95:.1f} ms over {len(samples)} deliveries{extra}"
    )


async def main(n: int) -> None:
    configure_logging("bench", "warning")
    with started("nx-27017") as store:
        client: AsyncMongoClient[Document] = AsyncMongoClient(
            f"mongodb://127.0.0.1:{store.port}/?directConnection=true", tz_aware=True
        )
        repository = MongoWebhookRepository(client["webhooks_bench"])
        await repository.create_indexes()
        await one_at_a_time(repository, n)
        await with_a_slow_endpoint(repository, per_endpoint=n)
        await sustained(repository, n=min(n, 100), rate=10.0, with_slow=False)
        await sustained(repository, n=min(n, 100), rate=10.0, with_slow=True)
        await client.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=200)
    asyncio.run(main(parser.parse_args().n))
