"""A scan's engine phase under a watchdog: it ends at the deadline or on a stop, stuck or not.

The engine (and the live events it publishes) runs in a task of its own. The watchdog waits
for it, for the deadline, or for a stop request (the owner's cancel), whichever comes first;
it then cancels the task and gives it ``grace`` seconds to end. A task that still does not end
(a library that swallowed the cancellation, an await that never returns) is abandoned: the
scan is finished anyway, and the finishing step never runs inside the task a cancel reaches.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Coroutine
from typing import Any

import structlog

log = structlog.get_logger(__name__)
STOP_GRACE = 5.0  # seconds a cancelled engine gets to end before it is abandoned
# A run this long past its deadline is stuck in its finishing step (the watchdog ended the engine
# at the deadline): its delivery is no longer kept alive, so the broker gives the job to a worker.
STUCK_AFTER = 60.0


class Ending(enum.Enum):
    DONE = "done"  # the work returned by itself
    DEADLINE = "deadline"  # the deadline passed first
    STOPPED = "stopped"  # a stop was requested first


class EnginePhase:
    """One run of ``work``; ``stop()`` may be called from anywhere, any number of times."""

    _abandoned: set[asyncio.Task[Any]] = set()  # kept referenced until they end, if ever

    def __init__(self, work: Coroutine[Any, Any, None], grace: float = STOP_GRACE) -> None:
        self._task: asyncio.Task[None] = asyncio.create_task(work)
        self._stop = asyncio.Event()
        self._grace = grace

    @property
    def active(self) -> bool:
        return not self._task.done()

    def stop(self) -> None:
        self._stop.set()

    async def wait(self, seconds: float) -> Ending:
        """Wait up to ``seconds``; the work's own exception is raised when it failed."""
        stopper = asyncio.create_task(self._stop.wait())
        try:
            await asyncio.wait({self._task, stopper}, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:  # the job itself is cancelled (shutdown): the engine stops too
            self._task.cancel()
            raise
        finally:
            stopper.cancel()
        if self._task.done():  # by itself: its exception (a cancel of its own included) is raised
            self._task.result()
            return Ending.DONE
        ending = Ending.STOPPED if self._stop.is_set() else Ending.DEADLINE
        await self._end()
        return ending

    async def _end(self) -> None:
        self._task.cancel()
        done, _ = await asyncio.wait({self._task}, timeout=self._grace)
        if not done:
            log.error("engine did not stop when cancelled; abandoned", grace_seconds=self._grace)
            self._abandoned.add(self._task)
            self._task.add_done_callback(self._abandoned.discard)
        elif not self._task.cancelled() and self._task.exception() is not None:
            log.warning("engine failed while stopping", error=str(self._task.exception()))
