"""Quotas, usage and history of the assistant's use cases (in-memory ledger and history)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from assistant_fakes import ALICE, BOB, MemoryAccounts, world

from rampart.lib.errors import InvalidArgument
from rampart_ai.accounting import Accountant, AiQuotaExceeded, HistoryNotFound, Limits
from rampart_ai.domain import Level, ScanNotFound
from rampart_ai.provider import Completion
from rampart_ai.service import AskContext, AssistantService

ALICE_TEST = replace(ALICE, mode=2)  # Alice's test key: the sandbox world
NEW_SCAN = AskContext(scan_id="scan_alice_new")


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Provider:
    """A chat provider that reports ``tokens`` per completion and counts its calls."""

    name = "scripted"
    max_tokens = 100

    def __init__(self, tokens: int) -> None:
        self.tokens = tokens
        self.calls = 0

    async def complete(self, messages: list[dict[str, str]]) -> Completion:
        self.calls += 1
        return Completion("Redis on 10.0.0.7:6379 answers without a password [2].", self.tokens)


def accountant(
    clock: Clock, store: MemoryAccounts, provider: Provider | None = None, retention_days: int = 90
) -> Accountant:
    data = world()
    assistant = AssistantService(data.scans, data.findings, data.threats, data.assistant._library, provider)
    return Accountant(assistant, store, store, retention_days, clock)


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 21, 23, 0, tzinfo=UTC))


async def test_the_daily_request_quota_refuses_the_next_request_until_utc_midnight_uncounted(
    clock: Clock,
) -> None:
    store = MemoryAccounts()
    accounts = accountant(clock, store)
    limits = Limits(requests_per_day=2)
    await accounts.ask(ALICE, limits, "What is exposed?", NEW_SCAN)
    await accounts.explain(ALICE, limits, "tls", Level.BEGINNER, "")
    with pytest.raises(AiQuotaExceeded) as refused:
        await accounts.ask(ALICE, limits, "What is exposed?", NEW_SCAN)
    assert refused.value.details == {"limit": 2, "retry_after": 3600, "resets_at": "2026-11-22T00:00:00Z"}
    assert (await accounts.usage(ALICE)).requests == 2  # the refusal did not count
    assert (await accounts.usage(BOB)).requests == 0  # per organisation
    await accounts.ask(BOB, limits, "What is exposed?", AskContext())
    clock.now += timedelta(hours=1)  # a new UTC day
    await accounts.ask(ALICE, limits, "What is exposed?", NEW_SCAN)
    assert (await accounts.usage(ALICE)).requests == 1


async def test_a_request_that_fails_on_its_input_is_not_counted(clock: Clock) -> None:
    store = MemoryAccounts()
    accounts = accountant(clock, store)
    with pytest.raises(ScanNotFound):  # Bob's scan, asked by Alice
        await accounts.ask(ALICE, Limits(1), "What is exposed?", AskContext(scan_id="scan_bob_1"))
    assert (await accounts.usage(ALICE)).requests == 0
    assert (await accounts.history(ALICE, 10, ""))[2] == 0
    await accounts.ask(ALICE, Limits(1), "What is exposed?", NEW_SCAN)  # the one allowed request


async def test_provider_tokens_are_counted_as_reported_and_past_the_quota_the_answer_is_offline(
    clock: Clock,
) -> None:
    store, provider = MemoryAccounts(), Provider(tokens=700)
    accounts = accountant(clock, store, provider)
    limits = Limits(requests_per_day=10, tokens_per_day=1_500)
    answer, _ = await accounts.ask(ALICE, limits, "What is exposed?", NEW_SCAN)
    assert (answer.provider, answer.tokens) == ("scripted", 700)
    assert (await accounts.usage(ALICE)).tokens == 700
    # The next call's reservation (prompt estimate + max_tokens) no longer fits: no call is made.
    store.days["org_alice|2026-11-21"]["tokens"] = 1_450
    offline, _ = await accounts.ask(ALICE, limits, "What is exposed?", NEW_SCAN)
    assert provider.calls == 1
    assert offline.provider == "offline"
    assert "the plan's provider tokens for today are used up; answered offline" in offline.gaps
    assert (await accounts.usage(ALICE)).tokens == 1_450  # the refused reservation took nothing
    assert (await accounts.usage(ALICE)).requests == 2  # still a request


async def test_history_is_the_callers_own_newest_first_paged_and_live_and_test_apart(clock: Clock) -> None:
    store = MemoryAccounts()
    accounts = accountant(clock, store)
    ids = []
    for number in range(5):
        clock.now += timedelta(seconds=1)
        _, history_id = await accounts.ask(ALICE, Limits(), f"What is exposed? ({number})", NEW_SCAN)
        ids.append(history_id)
    first, cursor, total = await accounts.history(ALICE, 2, "")
    second, cursor2, _ = await accounts.history(ALICE, 2, cursor)
    last, end, _ = await accounts.history(ALICE, 2, cursor2)
    assert total == 5
    assert [e.history_id for e in first + second + last] == ids[::-1]
    assert end == ""
    entry = await accounts.entry(ALICE, ids[0])
    assert entry.question == "What is exposed? (0)"
    assert entry.scan_id == "scan_alice_new"
    assert any(c.kind == "port" and c.port == 6379 for c in entry.citations)
    assert "6379" in entry.answer
    with pytest.raises(HistoryNotFound):
        await accounts.entry(BOB, ids[0])  # another organisation
    with pytest.raises(HistoryNotFound):
        await accounts.entry(ALICE_TEST, ids[0])  # her test key sees the sandbox world only
    assert (await accounts.history(ALICE_TEST, 10, ""))[0] == []
    assert (await accounts.history(BOB, 10, ""))[0] == []


async def test_entries_past_the_retention_are_neither_read_nor_kept(clock: Clock) -> None:
    store = MemoryAccounts()
    accounts = accountant(clock, store, retention_days=30)
    _, old = await accounts.ask(ALICE, Limits(), "What is exposed?", NEW_SCAN)
    clock.now += timedelta(days=20)
    _, recent = await accounts.ask(ALICE, Limits(), "What changed?", NEW_SCAN)
    clock.now += timedelta(days=11)
    assert [e.history_id for e in (await accounts.history(ALICE, 10, ""))[0]] == [recent]
    with pytest.raises(HistoryNotFound):
        await accounts.entry(ALICE, old)
    assert (await accounts.usage(ALICE)).history_entries == 1
    assert await accounts.sweep() == 1
    assert set(store.entries) == {recent}


async def test_a_malformed_cursor_is_a_validation_error(clock: Clock) -> None:
    accounts = accountant(clock, MemoryAccounts())
    with pytest.raises(InvalidArgument, match="cursor is not valid"):
        await accounts.history(ALICE, 10, "abc")
