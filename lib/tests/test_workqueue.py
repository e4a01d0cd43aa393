"""The work-queue consumer settles each delivery as its job says, keeps it alive, hands back extras."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from types import SimpleNamespace

from rampart.lib.events import SCAN_JOBS, ConsumerSpec, PoisonMessage
from rampart.lib.workqueue import Job, Settle, WorkQueueConsumer

SPEC = ConsumerSpec(SCAN_JOBS, "workers", "scan.jobs", max_deliver=3, ack_wait_seconds=3.0)


@dataclass
class Delivery:
    """A JetStream message as the consumer sees it, recording how it was settled."""

    data: bytes = b"job"
    delivered: int = 1
    subject: str = "scan.jobs"
    settled: list[str] = field(default_factory=list)

    @property
    def metadata(self) -> SimpleNamespace:
        return SimpleNamespace(num_delivered=self.delivered)

    async def ack(self) -> None:
        self.settled.append("ack")

    async def nak(self, delay: float | None = None) -> None:
        self.settled.append(f"nak:{delay}")

    async def term(self) -> None:
        self.settled.append("term")

    async def in_progress(self) -> None:
        self.settled.append("in_progress")


@dataclass
class ScriptedJob:
    outcome: Settle | Exception = Settle.ACK
    hold: asyncio.Event | None = None
    is_active: bool = True
    beats: int = 0
    gave_up: bool = False
    beaten: asyncio.Event = field(default_factory=asyncio.Event)  # set at each beat

    async def run(self) -> Settle:
        if self.hold is not None:
            await self.hold.wait()
        if isinstance(self.outcome, Exception):
            raise self.outcome
        return self.outcome

    def active(self) -> bool:
        return self.is_active

    async def beat(self) -> None:
        self.beats += 1
        self.beaten.set()

    async def give_up(self) -> None:
        self.gave_up = True


def consumer(job: Job, concurrency: int = 1, heartbeat: float | None = None) -> WorkQueueConsumer:
    return WorkQueueConsumer(None, SPEC, lambda message: job, concurrency, heartbeat)  # type: ignore[arg-type]


async def test_a_done_job_is_acked_and_a_job_held_elsewhere_is_left_alone() -> None:
    done, held = Delivery(), Delivery()
    await consumer(ScriptedJob(Settle.ACK)).handle(done)  # type: ignore[arg-type]
    await consumer(ScriptedJob(Settle.LEAVE)).handle(held)  # type: ignore[arg-type]
    assert (done.settled, held.settled) == (["ack"], [])


async def test_a_failed_job_is_retried_with_backoff_until_its_last_delivery_gives_up() -> None:
    first, last = Delivery(delivered=2), Delivery(delivered=3)
    job = ScriptedJob(RuntimeError("boom"))
    await consumer(job).handle(first)  # type: ignore[arg-type]
    assert (first.settled, job.gave_up) == (["nak:1.0"], False)
    await consumer(job).handle(last)  # type: ignore[arg-type]
    assert (last.settled, job.gave_up) == (["ack"], True)


async def test_a_message_that_can_never_run_is_terminated() -> None:
    def poison(message: object) -> Job:
        raise PoisonMessage("undecodable")

    message = Delivery()
    await WorkQueueConsumer(None, SPEC, poison, 1).handle(message)  # type: ignore[arg-type]
    assert message.settled == ["term"]


async def test_heartbeats_keep_only_an_active_job_alive() -> None:
    hold = asyncio.Event()
    job, message = ScriptedJob(hold=hold, is_active=False), Delivery()
    running = asyncio.create_task(consumer(job, heartbeat=0.005).handle(message))  # type: ignore[arg-type]
    await asyncio.sleep(0.03)
    assert (message.settled, job.beats) == ([], 0)
    job.is_active = True
    await asyncio.sleep(0.03)
    hold.set()
    await asyncio.wait_for(running, 1)
    assert job.beats >= 2
    assert message.settled.count("in_progress") == job.beats
    assert message.settled[-1] == "ack"


async def test_a_busy_consumer_hands_back_late_deliveries_and_shutdown_hands_back_its_own() -> None:
    hold = asyncio.Event()
    job, mine, late = ScriptedJob(hold=hold), Delivery(), Delivery(data=b"late")
    queue = consumer(job)

    class Source:
        fetched: list[Delivery] = [mine, late]

        @property
        def buffered(self) -> int:
            return len(self.fetched)

        async def fetch(self, batch: int, wait: float = 1.0) -> list[Delivery]:
            await asyncio.sleep(0)
            return [self.fetched.pop(0)] if self.fetched else []

    queue._source = Source()  # type: ignore[assignment]
    running = asyncio.create_task(queue.run())
    async with asyncio.timeout(2):
        while True:
            if late.settled:
                break
            await asyncio.sleep(0.01)
    assert (late.settled, mine.settled, queue.running) == (["nak:None"], [], 1)
    running.cancel()
    await asyncio.gather(running, return_exceptions=True)
    assert mine.settled == ["nak:None"]  # shutting down: to another worker at once


@dataclass
class Unanswered(Delivery):
    """A delivery whose settlements never complete and shrug off a cancellation (a broken link).

    They end only once ``link_back`` is set (at the end of the test, so the loop can close).
    """

    link_back: asyncio.Event = field(default_factory=asyncio.Event)

    async def _never(self, what: str) -> None:
        self.settled.append(what)
        while not self.link_back.is_set():
            try:
                await self.link_back.wait()
            except asyncio.CancelledError:
                continue

    async def ack(self) -> None:
        await self._never("ack")

    async def in_progress(self) -> None:
        await self._never("in_progress")


async def test_a_settlement_that_never_completes_does_not_hold_the_job_for_ever() -> None:
    delivery = Unanswered()
    queue = WorkQueueConsumer(None, SPEC, lambda m: ScriptedJob(Settle.ACK), 1, call_seconds=0.05)  # type: ignore[arg-type]
    try:
        await asyncio.wait_for(queue.handle(delivery), 5)  # type: ignore[arg-type]
    finally:
        delivery.link_back.set()
    assert delivery.settled == ["ack"]  # tried once; the broker redelivers if it never arrived


async def test_a_stuck_in_progress_does_not_stop_the_heartbeat() -> None:
    delivery, hold = Unanswered(), asyncio.Event()
    job = ScriptedJob(Settle.LEAVE, hold=hold)
    queue = WorkQueueConsumer(None, SPEC, lambda m: job, 1, heartbeat_seconds=0.01, call_seconds=0.01)  # type: ignore[arg-type]
    task = asyncio.create_task(queue.handle(delivery))  # type: ignore[arg-type]
    try:
        async with asyncio.timeout(5):
            while job.beats < 3:  # each beat comes after an in_progress that never completed
                job.beaten.clear()
                await job.beaten.wait()
        hold.set()
        await asyncio.wait_for(task, 5)
    finally:
        delivery.link_back.set()
    assert delivery.settled.count("in_progress") >= 3
