"""Stream caps per organisation (by plan), the idle timeout, and slots given back on disconnect."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import pytest

from rampart.auth.v1 import auth_pb2
from rampart.common.v1 import common_pb2
from rampart.scan.v1 import scan_pb2
from rampart_gateway.api.scans.events import IDLE_TIMEOUT_CODE, scan_events
from rampart_gateway.errors import ApiError
from rampart_gateway.principal import Principal
from rampart_gateway.ratelimit import RateLimits
from rampart_gateway.stream_slots import FALLBACK_CAP, HeldEventSource, StreamSlots


def caller(org: str, plan: str = "free", streams: int = 2, per_hour: int = 100) -> Principal:
    owner = common_pb2.Owner(user_id="usr_1", org_id=org, key_id=f"key_{org}")
    limits = auth_pb2.Plan(name=plan, requests_per_hour=per_hour, concurrent_streams=streams)
    return Principal(owner, limits, "api_key")


def test_an_organisation_holds_at_most_its_plans_streams() -> None:
    slots = StreamSlots()
    held = [slots.acquire(caller("org_a")) for _ in range(2)]
    with pytest.raises(ApiError) as refused:
        slots.acquire(caller("org_a"))
    assert (refused.value.status_code, refused.value.code) == (429, "CONCURRENT_LIMIT_EXCEEDED")
    assert refused.value.details == {"limit": 2, "resource": "streams"}
    slots.acquire(caller("org_b"))  # another organisation has its own count
    held[0].release()
    held[0].release()  # twice is once
    assert slots.open_streams("org_a") == 1
    slots.acquire(caller("org_a"))
    with pytest.raises(ApiError):
        slots.acquire(caller("org_a"))


def test_zero_streams_is_unlimited_only_on_enterprise() -> None:
    slots = StreamSlots()
    for _ in range(FALLBACK_CAP * 3):
        slots.acquire(caller("org_e", plan="enterprise", streams=0))
    for _ in range(FALLBACK_CAP):
        slots.acquire(caller("org_f", plan="free", streams=0))
    with pytest.raises(ApiError):
        slots.acquire(caller("org_f", plan="free", streams=0))


async def test_zero_requests_per_hour_is_unlimited_only_on_enterprise() -> None:
    limits = RateLimits("async+memory://", "3/minute", "2/hour", "3/minute")
    assert await limits.check(caller("org_e", plan="enterprise", per_hour=0), "10.0.0.1", "/x") is None
    free = [await limits.check(caller("org_f", per_hour=0), "10.0.0.1", "/x") for _ in range(4)]
    assert [d.allowed for d in free if d] == [True, True, True, False]
    assert await limits.usage(caller("org_f", per_hour=0)) is not None


async def test_the_slot_is_given_back_when_the_client_goes_away() -> None:
    slots = StreamSlots()
    slot = slots.acquire(caller("org_d"))

    async def forever() -> AsyncIterator[dict[str, str]]:
        while True:
            yield {"event": "progress", "data": "{}"}
            await asyncio.sleep(0.01)

    async def receive() -> dict[str, Any]:
        await asyncio.sleep(0.05)
        return {"type": "http.disconnect"}

    async def send(message: Any) -> None:
        pass

    response = HeldEventSource(slot, forever(), ping=15)
    scope = {"type": "http", "method": "GET", "path": "/", "headers": [], "asgi": {"spec_version": "2.4"}}
    await asyncio.wait_for(response(scope, receive, send), 5)
    assert slots.open_streams("org_d") == 0


class FakeSubscription:
    def __init__(self) -> None:
        self.unsubscribed = False

    async def unsubscribe(self) -> None:
        self.unsubscribed = True


def silent_broker(subscription: FakeSubscription) -> Any:
    """A broker whose event stream for the scan never delivers anything (a queued scan)."""

    async def subscribe(*args: Any, **kwargs: Any) -> FakeSubscription:
        return subscription

    nc = SimpleNamespace(is_connected=True, jetstream=lambda: SimpleNamespace(subscribe=subscribe))
    return SimpleNamespace(nc=nc)


async def test_a_stream_with_no_event_ends_with_an_idle_error_after_the_timeout() -> None:
    subscription = FakeSubscription()
    scan = scan_pb2.Scan(scan_id="scn_idle", status=scan_pb2.SCAN_STATUS_QUEUED)
    events = [
        event async for event in scan_events(silent_broker(subscription), scan, None, idle_timeout=0.05)
    ]
    assert [(e.name, e.data["error"]["code"]) for e in events] == [("error", IDLE_TIMEOUT_CODE)]
    assert events[0].data["scan_id"] == "scn_idle"
    assert subscription.unsubscribed
