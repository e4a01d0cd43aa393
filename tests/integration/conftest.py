"""The whole platform as real processes on free ports with temporary data directories."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import grpc
import pytest

from rampart.common.v1 import common_pb2
from rampart.lib.devstack import ORDER, DevStack

T = TypeVar("T")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevStack]:
    # Every test registers from 127.0.0.1: widen the per-IP limits on anonymous endpoints
    # (their own behaviour is pinned by gateway unit tests).
    roomy = {
        "REGISTER_RATE_LIMIT": "10000/hour",
        "TOKEN_RATE_LIMIT": "10000/minute",
        "ANONYMOUS_RATE_LIMIT": "10000/minute",
    }
    platform = DevStack.on_free_ports(tmp_path_factory.mktemp("platform"), extra_env=roomy)
    try:
        platform.start_all()
        platform.wait_health(200, deadline=60)
        yield platform
    except Exception:
        for name in ORDER:
            log = platform.log_path(name)
            if log.exists():
                print(f"--- {name} ---\n{log.read_text()[-3000:]}")
        raise
    finally:
        platform.stop_all()


@pytest.fixture
def healthy(stack: DevStack) -> Iterator[DevStack]:
    """The platform, made whole again after a test that stops parts of it."""
    yield stack
    for name in ORDER:
        stack.start(name)
    stack.wait_health(200, deadline=60)


@pytest.fixture
async def channel_to(stack: DevStack) -> AsyncIterator[Callable[[str], grpc.aio.Channel]]:
    channels: dict[str, grpc.aio.Channel] = {}

    def open_to(service: str) -> grpc.aio.Channel:
        if service not in channels:
            channels[service] = grpc.aio.insecure_channel(stack.address(service))
        return channels[service]

    yield open_to
    for channel in channels.values():
        await channel.close()


def new_owner(tag: str) -> common_pb2.Owner:
    stamp = time.monotonic_ns()
    return common_pb2.Owner(user_id=f"usr_{tag}{stamp}", org_id=f"org_{tag}{stamp}")


async def eventually(
    probe: Callable[[], Awaitable[T]], done: Callable[[T], bool], deadline: float = 20.0
) -> T:
    """Poll ``probe`` until ``done(result)``; the last result or error is in the failure."""
    loop = asyncio.get_running_loop()
    give_up = loop.time() + deadline
    last: Any = None
    while loop.time() < give_up:
        try:
            last = await probe()
            if done(last):
                return last
        except grpc.aio.AioRpcError as error:
            last = error
        await asyncio.sleep(0.05)
    raise AssertionError(f"condition not met in {deadline}s; last: {last!r}")
