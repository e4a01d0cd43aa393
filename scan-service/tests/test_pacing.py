"""Probe pacing: the token bucket holds its rate over time, with a fake clock (no sleeping)."""

from __future__ import annotations

import pytest

from rampart_scan.engine.pacing import AllOf, TokenBucket, pacer_for


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


async def test_a_bucket_spends_its_burst_then_waits_for_the_rate() -> None:
    time = FakeTime()
    bucket = TokenBucket(100, burst=10, clock=time.clock, sleep=time.sleep)
    await bucket.take(10)
    assert time.now == 0  # the burst is free
    for _ in range(90):
        await bucket.take(1)
    assert time.now == pytest.approx(0.9)  # 90 more probes at 100 a second


async def test_a_request_bigger_than_the_burst_waits_for_all_of_it() -> None:
    time = FakeTime()
    bucket = TokenBucket(50, burst=5, clock=time.clock, sleep=time.sleep)
    await bucket.take(105)
    assert time.now == pytest.approx(2.0)
    await bucket.take(1)
    assert time.now == pytest.approx(2.02)  # no credit left over from the debt


async def test_idle_time_refills_only_up_to_the_burst() -> None:
    time = FakeTime()
    bucket = TokenBucket(10, burst=3, clock=time.clock, sleep=time.sleep)
    await bucket.take(3)
    time.now += 60  # a long pause earns 3 tokens, not 600
    await bucket.take(3)
    assert time.slept == []
    await bucket.take(1)
    assert time.slept == [pytest.approx(0.1)]


def test_the_scan_obeys_its_own_rate_and_the_shared_pacer() -> None:
    shared = TokenBucket(1000)
    assert pacer_for(None, None) is None
    assert pacer_for(None, shared) is shared
    assert isinstance(pacer_for(10, None), TokenBucket)
    both = pacer_for(10, shared)
    assert isinstance(both, AllOf)
    assert both.pacers[1] is shared
    with pytest.raises(ValueError, match="rate"):
        TokenBucket(0)
