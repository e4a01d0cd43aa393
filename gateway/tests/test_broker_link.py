"""The gateway's broker link stops at shutdown even when its connect loop lost a cancel."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from rampart_gateway.clients import BrokerLink


async def test_closing_cancels_again_a_connect_that_lost_the_first_cancel() -> None:
    cancels = 0

    async def stubborn_connect() -> None:
        """As nats-py's first-connect loop can: one cancel is lost as an attempt fails."""
        nonlocal cancels
        while True:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                cancels += 1
                if cancels > 1:
                    raise

    link = BrokerLink("nats://127.0.0.1:1", cast(Any, None))
    link._task = asyncio.create_task(stubborn_connect())
    await asyncio.sleep(0)
    await asyncio.wait_for(link.close(), timeout=10)  # before: waited for ever on the first cancel
    assert link._task.cancelled()
    assert cancels == 2
