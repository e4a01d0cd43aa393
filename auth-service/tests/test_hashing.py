"""The password hashing pool: bounded threads, a bounded queue, and a busy answer past it."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import grpc
import pytest

from rampart_auth import credentials
from rampart_auth.hashing import (
    MIB,
    HashingPool,
    ServiceBusy,
    derive_concurrency,
    memory_limit_bytes,
)


async def test_a_full_queue_answers_busy_at_once_and_admits_again_once_drained() -> None:
    pool = HashingPool(concurrency=2, queue=1, retry_after_seconds=3)
    loop = asyncio.get_running_loop()
    release, two_running = threading.Event(), asyncio.Event()
    running: list[str] = []
    lock = threading.Lock()

    def slow_hash(name: str) -> str:
        with lock:
            running.append(name)
            if len(running) == 2:
                loop.call_soon_threadsafe(two_running.set)
        assert release.wait(10)
        return f"hashed-{name}"

    admitted = [asyncio.create_task(pool.run(slow_hash, f"p{i}")) for i in range(3)]
    async with asyncio.timeout(10):
        await two_running.wait()
    assert pool.in_flight == 3
    assert len(running) == 2  # two threads hash; the third waits in the queue
    with pytest.raises(ServiceBusy) as busy:
        await pool.run(slow_hash, "over")
    assert busy.value.public_code == "SERVICE_BUSY"
    assert busy.value.grpc_code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert busy.value.details == {"retry_after": 3}
    release.set()
    async with asyncio.timeout(10):
        assert await asyncio.gather(*admitted) == ["hashed-p0", "hashed-p1", "hashed-p2"]
    assert pool.in_flight == 0
    assert await pool.run(str.upper, "again") == "AGAIN"
    await pool.close()


async def test_hashing_runs_off_the_event_loop() -> None:
    pool = HashingPool(concurrency=1, queue=0)
    loop_thread = threading.get_ident()
    assert await pool.run(threading.get_ident) != loop_thread
    await pool.close()


async def test_password_checks_go_through_the_pool_and_report_busy() -> None:
    pool = HashingPool(concurrency=1, queue=0)
    passwords = credentials.Passwords(pool)
    stored = await passwords.hash("correct-horse-9-battery")
    first = asyncio.create_task(passwords.verify(stored, "correct-horse-9-battery"))
    await asyncio.sleep(0)  # let the first check start: it holds the only place
    assert pool.in_flight == 1
    with pytest.raises(ServiceBusy):
        await passwords.verify(stored, "correct-horse-9-battery")
    assert await first
    await pool.close()


def test_default_concurrency_fits_half_the_memory_limit() -> None:
    assert derive_concurrency(512 * MIB) == 4  # the k8s auth pod: 4 x 64 MiB = 256 MiB of 512
    assert derive_concurrency(256 * MIB) == 2
    assert derive_concurrency(64 * MIB) == 1  # never zero
    assert derive_concurrency(64 * 1024 * MIB) == 16  # capped
    assert derive_concurrency(None) == 4


def test_memory_limit_is_read_from_the_cgroup(tmp_path: Path) -> None:
    v2, v1 = tmp_path / "memory.max", tmp_path / "memory.limit_in_bytes"
    assert memory_limit_bytes((v2, v1)) is None  # neither exists
    v1.write_text(f"{512 * MIB}\n")
    assert memory_limit_bytes((v2, v1)) == 512 * MIB
    v2.write_text("max\n")
    assert memory_limit_bytes((v2, v1)) is None
    v2.write_text(str(2**63 - 4096))
    assert memory_limit_bytes((v2,)) is None
