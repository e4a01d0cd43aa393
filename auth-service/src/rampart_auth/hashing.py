"""A bounded pool for password hashing: Argon2id costs 64 MiB per hash, so memory caps concurrency.

At most ``concurrency`` hashes run at once, each on a worker thread (never on the event loop);
at most ``queue`` more wait for a thread. A request beyond that is refused at once with
:class:`ServiceBusy` (gRPC RESOURCE_EXHAUSTED, public code SERVICE_BUSY, HTTP 503 + Retry-After)
instead of growing the process past its memory limit.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import ClassVar, TypeVar

import grpc

from rampart.lib.errors import RampartError

T = TypeVar("T")
MIB = 1024 * 1024
HASH_MEMORY_BYTES = 64 * MIB  # argon2-cffi's default (RFC 9106 low-memory profile): m=64 MiB, t=3, p=4
MEMORY_SHARE_FOR_HASHING = 0.5  # the rest of the pod's limit is for the process itself and a margin
DEFAULT_CONCURRENCY = 4  # when no memory limit is known
MAX_DERIVED_CONCURRENCY = 16
CGROUP_LIMIT_FILES = (
    Path("/sys/fs/cgroup/memory.max"),  # cgroup v2
    Path("/sys/fs/cgroup/memory/memory.limit_in_bytes"),  # cgroup v1
)


class ServiceBusy(RampartError):
    """Too many password hashes in flight; the caller should retry after ``retry_after`` seconds."""

    grpc_code: ClassVar[grpc.StatusCode] = grpc.StatusCode.RESOURCE_EXHAUSTED
    public_code: ClassVar[str] = "SERVICE_BUSY"


def memory_limit_bytes(files: tuple[Path, ...] = CGROUP_LIMIT_FILES) -> int | None:
    """The container's memory limit from its cgroup, or None when there is none."""
    for path in files:
        try:
            text = path.read_text().strip()
        except OSError:
            continue
        if text.isascii() and text.isdigit() and int(text) < 1 << 60:  # v1 "no limit" is ~2**63
            return int(text)
        return None  # "max": no limit
    return None


def derive_concurrency(limit_bytes: int | None, hash_bytes: int = HASH_MEMORY_BYTES) -> int:
    """Hashes that fit in half the memory limit (512 MiB -> 4 x 64 MiB), at least 1."""
    if limit_bytes is None:
        return DEFAULT_CONCURRENCY
    fitting = int(limit_bytes * MEMORY_SHARE_FOR_HASHING) // hash_bytes
    return max(1, min(fitting, MAX_DERIVED_CONCURRENCY))


class HashingPool:
    """Runs hashing functions on a fixed set of threads with a bounded wait queue."""

    def __init__(self, concurrency: int, queue: int, retry_after_seconds: int = 1) -> None:
        if concurrency < 1 or queue < 0:
            raise ValueError("concurrency must be >= 1 and queue >= 0")
        self.concurrency = concurrency
        self.queue = queue
        self._capacity = concurrency + queue
        self._retry_after = retry_after_seconds
        self._admitted = 0
        self._executor = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="argon2")

    @property
    def in_flight(self) -> int:
        """Hashes running or waiting for a thread."""
        return self._admitted

    async def run(self, function: Callable[..., T], *args: object) -> T:
        if self._admitted >= self._capacity:
            raise ServiceBusy("authentication is busy; retry shortly", retry_after=self._retry_after)
        self._admitted += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, function, *args)
        finally:
            self._admitted -= 1

    async def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
