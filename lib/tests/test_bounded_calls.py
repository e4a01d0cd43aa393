"""Broker calls end at their limit even when the client never answers and swallows the cancel."""

from __future__ import annotations

import asyncio
from typing import Any

import nats.errors
import pytest

from rampart.lib.events import EventPublisher, bounded


class NeverAcks:
    """A JetStream context whose PubAck never comes, and which ignores being cancelled."""

    def __init__(self) -> None:
        self.published: list[str] = []
        self.link_back = asyncio.Event()  # set at the end of the test, so the loop can close

    async def publish(self, subject: str, payload: bytes, **_: Any) -> None:
        self.published.append(subject)
        while not self.link_back.is_set():
            try:
                await self.link_back.wait()
            except asyncio.CancelledError:
                continue  # as nats-py's _flush_pending does


async def test_a_publish_whose_ack_never_comes_fails_at_its_timeout() -> None:
    js = NeverAcks()
    publisher = EventPublisher(js, timeout=0.05)  # type: ignore[arg-type]
    try:
        async with asyncio.timeout(10):  # a guard: the builtin TimeoutError is not the one asserted
            with pytest.raises(nats.errors.TimeoutError):
                await publisher.publish("scan.events.s1.progress", b"x", "s1.progress.1")
    finally:
        js.link_back.set()
    assert js.published == ["scan.events.s1.progress"]


async def test_a_bounded_call_returns_its_result_and_raises_its_error() -> None:
    async def answer() -> int:
        return 42

    async def refuse() -> None:
        raise nats.errors.NoRespondersError

    assert await bounded(answer(), 1) == 42
    with pytest.raises(nats.errors.NoRespondersError):
        await bounded(refuse(), 1)


async def test_cancelling_the_caller_cancels_the_call() -> None:
    started, cancelled = asyncio.Event(), asyncio.Event()

    async def slow() -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    caller = asyncio.create_task(bounded(slow(), 60))
    await started.wait()
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    await asyncio.wait_for(cancelled.wait(), 5)
