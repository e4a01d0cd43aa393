"""Limits and accounting: the daily quotas, the usage they show, and the caller's history.

Requests are counted per organisation per UTC day with one conditional increment in the store
(``Ledger.claim_request``), so the count is exact however many gateways and ai-service replicas
serve the organisation. A request refused for the quota, or failing on its input (an unknown
scan, a bad question), is not counted: its claim is released. Provider tokens are reserved
before a call (prompt estimate + ``max_tokens``) and settled at what the provider reports.

Every answered request is stored in the caller's history: organisation + user, live and test
apart, read back only by that caller, never used to answer anyone else; entries older than the
retention are neither listed nor read, and the sweeper deletes them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

import structlog

from rampart.lib.errors import InvalidArgument, NotFound, ResourceExhausted
from rampart.lib.ids import iso, new_id, utcnow
from rampart_ai.domain import Answer, Audience, Caller, Citation, Explanation, Level, Report
from rampart_ai.service import AskContext, AssistantService

log = structlog.get_logger(__name__)
TEST_MODE = 2  # rampart.common.v1.KEY_MODE_TEST
MAX_PAGE = 100


class AiQuotaExceeded(ResourceExhausted):
    public_code = "AI_QUOTA_EXCEEDED"


class HistoryNotFound(NotFound):
    public_code = "AI_HISTORY_NOT_FOUND"


@dataclass(frozen=True)
class Limits:
    """The caller's plan quotas for the assistant; 0 = unlimited."""

    requests_per_day: int = 0
    tokens_per_day: int = 0


@dataclass(frozen=True)
class Owner:
    """Whose history an entry is: the organisation, the user, and the world (live or test)."""

    org_id: str
    user_id: str
    live: bool

    @classmethod
    def of(cls, caller: Caller) -> Owner:
        return cls(caller.org_id, caller.user_id, caller.mode != TEST_MODE)


@dataclass(frozen=True)
class Entry:
    """One stored request and its answer."""

    history_id: str
    owner: Owner
    key_id: str
    kind: str  # ask, explain, report
    question: str
    answer: str
    citations: tuple[Citation, ...]
    provider: str
    tokens: int
    scan_id: str
    created_at: datetime
    sort_key: int  # microseconds since the epoch * 1000 + tie-breaker: newest first, cursor


@dataclass(frozen=True)
class Usage:
    day: str
    requests: int
    tokens: int
    resets_at: datetime
    history_entries: int


class Ledger(Protocol):
    """Per organisation per UTC day: requests and provider tokens."""

    async def claim_request(self, org_id: str, day: str, limit: int) -> bool: ...
    async def release_request(self, org_id: str, day: str) -> None: ...
    async def claim_tokens(self, org_id: str, day: str, amount: int, limit: int) -> bool: ...
    async def add_tokens(self, org_id: str, day: str, amount: int) -> None: ...
    async def used(self, org_id: str, day: str) -> tuple[int, int]: ...


class History(Protocol):
    """The stored entries; every read names the owner, and only entries from ``since_key`` on."""

    async def add(self, entry: Entry) -> None: ...
    async def page(self, owner: Owner, since_key: int, before_key: int | None, limit: int) -> list[Entry]: ...
    async def get(self, owner: Owner, history_id: str, since_key: int) -> Entry | None: ...
    async def count(self, owner: Owner, since_key: int) -> int: ...
    async def sweep(self, before_key: int) -> int: ...


def sort_key(at: datetime, tie: int) -> int:
    return int(at.timestamp() * 1_000_000) * 1000 + tie % 1000


def next_midnight(now: datetime) -> datetime:
    return datetime(now.year, now.month, now.day, tzinfo=UTC) + timedelta(days=1)


@dataclass
class DayBudget:
    """The organisation's provider tokens for one day (``ports.TokenBudget``)."""

    ledger: Ledger
    org_id: str
    day: str
    limit: int

    async def reserve(self, tokens: int) -> bool:
        return await self.ledger.claim_tokens(self.org_id, self.day, tokens, self.limit)

    async def settle(self, reserved: int, used: int) -> None:
        if used != reserved:
            await self.ledger.add_tokens(self.org_id, self.day, used - reserved)


class Accountant:
    """The assistant's use cases behind the quotas, recorded in the caller's history."""

    def __init__(
        self,
        assistant: AssistantService,
        ledger: Ledger,
        history: History,
        retention_days: int = 90,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._assistant = assistant
        self._ledger = ledger
        self._history = history
        self._retention = timedelta(days=retention_days)
        self._clock = clock
        self._tie = 0

    # ---- the counted use cases ------------------------------------------------------------

    async def ask(
        self, caller: Caller, limits: Limits, question: str, context: AskContext
    ) -> tuple[Answer, str]:
        async with self._admitted(caller, limits) as day:
            budget = DayBudget(self._ledger, caller.org_id, day, limits.tokens_per_day)
            answer = await self._assistant.ask(caller, question, context, budget)
        scan_id = context.scan_id or next((c.scan_id for c in answer.citations if c.scan_id), "")
        entry = await self._record(
            caller, "ask", question, answer.text, answer.citations, answer.provider, answer.tokens, scan_id
        )
        return answer, entry

    async def explain(
        self, caller: Caller, limits: Limits, concept: str, level: Level, scan_id: str
    ) -> tuple[Explanation, str]:
        async with self._admitted(caller, limits):
            found = await self._assistant.explain(caller, concept, level, scan_id)
        question = f"explain {concept.strip()} ({level.value})"
        entry = await self._record(
            caller, "explain", question, found.text, found.citations, "offline", 0, scan_id
        )
        return found, entry

    async def report(
        self, caller: Caller, limits: Limits, scan_id: str, audience: Audience, sections: tuple[str, ...]
    ) -> tuple[Report, str]:
        async with self._admitted(caller, limits):
            report = await self._assistant.report(caller, scan_id, audience, sections)
        text = "\n\n".join(f"{s.title}\n{s.body}" for s in report.sections)
        citations = tuple(c for s in report.sections for c in s.citations)
        question = f"{audience.value} report of {scan_id}"
        entry = await self._record(caller, "report", question, text, citations, "offline", 0, scan_id)
        return report, entry

    @asynccontextmanager
    async def _admitted(self, caller: Caller, limits: Limits) -> AsyncIterator[str]:
        """Count the request against today's quota, or refuse it (uncounted); a failure uncounts it."""
        now = self._clock()
        day = now.strftime("%Y-%m-%d")
        if not await self._ledger.claim_request(caller.org_id, day, limits.requests_per_day):
            resets = next_midnight(now)
            raise AiQuotaExceeded(
                f"daily assistant quota of {limits.requests_per_day} requests reached; "
                f"it resets at {iso(resets)}",
                limit=limits.requests_per_day,
                retry_after=max(1, int((resets - now).total_seconds() + 0.999)),
                resets_at=iso(resets),
            )
        try:
            yield day
        except BaseException:
            await self._ledger.release_request(caller.org_id, day)
            raise

    async def _record(
        self,
        caller: Caller,
        kind: str,
        question: str,
        answer: str,
        citations: list[Citation] | tuple[Citation, ...],
        provider: str,
        tokens: int,
        scan_id: str,
    ) -> str:
        now = self._clock()
        self._tie += 1
        entry = Entry(
            new_id("aih"),
            Owner.of(caller),
            caller.key_id,
            kind,
            question.strip(),
            answer,
            tuple(citations),
            provider,
            tokens,
            scan_id,
            now,
            sort_key(now, self._tie),
        )
        await self._history.add(entry)
        return entry.history_id

    # ---- usage and history ----------------------------------------------------------------

    def _since(self) -> int:
        return sort_key(self._clock() - self._retention, 0)

    async def usage(self, caller: Caller) -> Usage:
        now = self._clock()
        day = now.strftime("%Y-%m-%d")
        requests, tokens = await self._ledger.used(caller.org_id, day)
        entries = await self._history.count(Owner.of(caller), self._since())
        return Usage(day, requests, tokens, next_midnight(now), entries)

    async def history(self, caller: Caller, per_page: int, cursor: str) -> tuple[list[Entry], str, int]:
        """A page of the caller's entries, newest first, and the cursor of the next page ("" = last)."""
        if cursor and not cursor.isdigit():
            raise InvalidArgument("cursor is not valid", field="cursor")
        per_page = max(1, min(per_page or 20, MAX_PAGE))
        owner, since = Owner.of(caller), self._since()
        found = await self._history.page(owner, since, int(cursor) if cursor else None, per_page + 1)
        more = len(found) > per_page
        found = found[:per_page]
        next_cursor = str(found[-1].sort_key) if more else ""
        return found, next_cursor, await self._history.count(owner, since)

    async def entry(self, caller: Caller, history_id: str) -> Entry:
        """The caller's entry; another caller's, or an expired one, is not found."""
        found = await self._history.get(Owner.of(caller), history_id, self._since())
        if found is None:
            raise HistoryNotFound("history entry not found", history_id=history_id)
        return found

    def expires_at(self, entry: Entry) -> datetime:
        return entry.created_at + self._retention

    async def sweep(self) -> int:
        """Delete the entries past the retention."""
        return await self._history.sweep(self._since())

    async def sweep_forever(self, every_seconds: float) -> None:
        while True:
            try:
                deleted = await self.sweep()
                if deleted:
                    log.info("assistant history swept", deleted=deleted)
            except Exception:  # a store hiccup: the next round tries again
                log.exception("assistant history sweep failed")
            await asyncio.sleep(every_seconds)
