"""Creating, cancelling and clearing scans, on in-memory fakes (no store, no broker, no DNS)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from scan_fakes import FakeScanRepository, Platform, platform

from rampart.lib.errors import InvalidArgument
from rampart_scan.domain import (
    CANCELLED,
    COMPLETED,
    QUEUED,
    ConcurrentLimitExceeded,
    IdempotencyKeyReused,
    Owner,
    PlanLimits,
    Scan,
    ScanNotFinished,
    ScanNotFound,
    ScanOptions,
    ScanQuotaExceeded,
    ScanSpec,
)
from rampart_scan.engine.ports import InvalidPortSpec
from rampart_scan.events import PendingEvents
from rampart_scan.idempotency import fingerprint
from rampart_scan.interfaces import KeyRecord
from rampart_scan.scope import TargetNotAllowed

LIVE = Owner("usr_a", "org_a")
TEST = Owner("usr_a", "org_a", sandbox=True)
SPEC = ScanSpec(targets=("127.0.0.1",), ports="1-10")
LIMITS = PlanLimits(concurrent=2, daily=10)


async def finished(p: Platform, scan: Scan) -> Scan:
    """Mark a scan completed in the store, as a worker would."""
    done = replace(scan, status=COMPLETED)
    p.store.scans[scan.id] = done
    await p.store.release_slot(scan.owner.org_id)
    return done


async def test_a_created_scan_is_queued_and_its_event_and_job_are_released() -> None:
    p = platform()
    created = await p.commands.create(LIVE, SPEC, LIMITS, request_id="req_1")
    scan = created.scan
    assert (scan.status, scan.port_count, created.replayed) == (QUEUED, 10, False)
    assert p.store.scans[scan.id] == scan
    assert p.store.pending == {}  # moved to the outbox
    assert p.events.kinds(scan.id) == ["queued", "job"]
    assert (p.store.slots["org_a"], p.store.daily[f"org_a|{scan.day}"]) == (1, 1)


async def test_profile_defaults_fill_the_spec_and_explicit_options_are_kept() -> None:
    p = platform()
    spec = ScanSpec(
        targets=(" 127.0.0.1 ", "127.0.0.1"), profile="compliance", options=ScanOptions(os_detection=True)
    )
    scan = (await p.commands.create(LIVE, spec, LIMITS)).scan
    assert scan.spec.targets == ("127.0.0.1",)
    assert (scan.spec.ports, scan.spec.scan_type, scan.spec.max_duration_seconds) == ("top-1000", "tcp", 3600)
    assert scan.spec.options == ScanOptions(os_detection=True, service_detection=True, ssl_check=True)


@pytest.mark.parametrize(
    ("spec", "error", "field"),
    [
        (ScanSpec(targets=("127.0.0.1",), scan_type="sctp"), InvalidArgument, "scan_type"),
        (ScanSpec(targets=("127.0.0.1",), rate=-1), InvalidArgument, "rate"),
        (ScanSpec(targets=("127.0.0.1",), profile="stealth"), InvalidArgument, "profile"),
        (ScanSpec(targets=("127.0.0.1",), max_duration_seconds=86_401), InvalidArgument, "max_duration"),
        (ScanSpec(targets=("127.0.0.1",), ports="22,x"), InvalidPortSpec, "ports"),
        (ScanSpec(targets=(" ",)), InvalidArgument, "target"),
    ],
)
async def test_an_invalid_spec_is_refused_before_anything_is_stored(
    spec: ScanSpec, error: type[Exception], field: str
) -> None:
    p = platform()
    with pytest.raises(error) as refused:
        await p.commands.create(LIVE, spec, LIMITS, "key")
    assert getattr(refused.value, "details", {}).get("field") == field
    assert (p.store.scans, p.store.slots, p.store.keys) == ({}, {}, {})


async def test_a_create_without_an_owner_is_refused() -> None:
    with pytest.raises(InvalidArgument, match="owner is required"):
        await platform().commands.create(Owner("", "org_a"), SPEC, LIMITS)


async def test_a_target_outside_the_scope_is_refused_before_anything_is_reserved() -> None:
    p = platform()
    with pytest.raises(TargetNotAllowed):
        await p.commands.create(LIVE, ScanSpec(targets=("10.0.0.1",)), LIMITS, "key")
    assert (p.store.scans, p.store.slots, p.store.daily, p.store.keys) == ({}, {}, {}, {})


async def test_a_name_is_resolved_for_a_live_scan_but_never_for_a_sandbox_one() -> None:
    p = platform(dns={"db.local.test": ["127.0.0.7"]})
    sandbox = (await p.commands.create(TEST, ScanSpec(targets=("db.local.test",)), LIMITS)).scan
    assert (p.dns.asked, sandbox.owner.sandbox, sandbox.estimated_duration_seconds) == ([], True, 2)
    await p.commands.create(LIVE, ScanSpec(targets=("db.local.test",)), LIMITS)
    assert p.dns.asked == ["db.local.test"]


async def test_the_same_key_and_body_replay_the_same_scan_without_a_second_reservation() -> None:
    p = platform()
    first = await p.commands.create(LIVE, SPEC, LIMITS, "key-1")
    again = await p.commands.create(LIVE, SPEC, LIMITS, "key-1")
    assert (again.scan.id, again.replayed) == (first.scan.id, True)
    assert len(p.store.scans) == 1
    assert (p.store.slots["org_a"], p.store.daily[f"org_a|{first.scan.day}"]) == (1, 1)
    assert p.events.kinds(first.scan.id) == ["queued", "job"]


async def test_the_same_key_with_another_body_is_refused() -> None:
    p = platform()
    await p.commands.create(LIVE, SPEC, LIMITS, "key-1")
    with pytest.raises(IdempotencyKeyReused):
        await p.commands.create(LIVE, replace(SPEC, ports="1-20"), LIMITS, "key-1")
    assert len(p.store.scans) == 1


async def test_a_key_used_in_the_live_world_does_not_replay_in_the_test_world() -> None:
    p = platform()
    await p.commands.create(LIVE, SPEC, LIMITS, "key-1")
    with pytest.raises(IdempotencyKeyReused):
        await p.commands.create(TEST, SPEC, LIMITS, "key-1")
    with pytest.raises(ScanNotFound):  # and the live scan stays invisible to the test key
        await p.queries.get(TEST, next(iter(p.store.scans)))


async def test_the_same_key_in_another_organisation_is_another_scan() -> None:
    p = platform()
    first = await p.commands.create(LIVE, SPEC, LIMITS, "key-1")
    other = await p.commands.create(Owner("usr_b", "org_b"), SPEC, LIMITS, "key-1")
    assert (other.replayed, other.scan.id != first.scan.id) == (False, True)


async def test_a_key_whose_scan_never_appeared_is_taken_over_after_the_grace_period() -> None:
    p = platform()
    digest = fingerprint(SPEC, LIMITS, sandbox=False)
    p.store.keys["org_a|key-1"] = KeyRecord(digest, "scan_lost", None, p.clock.time())  # its create died
    started = p.clock.time()
    created = await p.commands.create(LIVE, SPEC, LIMITS, "key-1")
    assert (created.replayed, created.scan.id in p.store.scans) == (False, True)
    assert p.store.keys["org_a|key-1"].scan_id == created.scan.id
    assert p.clock.time() - started >= 5.0  # it waited for the grace period first


async def test_a_stalled_create_whose_key_was_taken_over_withdraws_and_replays_the_winner() -> None:
    p = platform()
    winner = (await p.commands.create(LIVE, replace(SPEC, ports="1-5"), LIMITS)).scan
    store: FakeScanRepository = p.store
    original_add = store.add

    async def add_then_lose_the_key(scan: Scan, pending: PendingEvents) -> None:
        await original_add(scan, pending)
        store.keys["org_a|key-1"] = replace(store.keys["org_a|key-1"], scan_id=winner.id)  # a retry won

    store.add = add_then_lose_the_key  # type: ignore[method-assign]
    created = await p.commands.create(LIVE, SPEC, LIMITS, "key-1")
    assert (created.scan.id, created.replayed) == (winner.id, True)
    assert list(store.scans) == [winner.id]  # the stalled scan is gone, nothing of it published
    assert [s.kind for s in p.events.sent if s.scan_id != winner.id] == []
    assert (store.slots["org_a"], store.daily[f"org_a|{winner.day}"]) == (1, 1)  # only the winner's


async def test_the_daily_quota_refuses_the_next_scan_and_takes_no_slot() -> None:
    p = platform()
    first = await p.commands.create(LIVE, SPEC, PlanLimits(concurrent=5, daily=1))
    with pytest.raises(ScanQuotaExceeded) as refused:
        await p.commands.create(LIVE, SPEC, PlanLimits(concurrent=5, daily=1), "key-2")
    assert refused.value.details == {"limit": 1}
    assert (p.store.slots["org_a"], p.store.daily[f"org_a|{first.scan.day}"]) == (1, 1)
    assert p.store.keys == {}  # the refused create gave its key back


async def test_the_concurrency_limit_gives_back_the_daily_count_it_took() -> None:
    p = platform()
    first = await p.commands.create(LIVE, SPEC, PlanLimits(concurrent=1, daily=10))
    with pytest.raises(ConcurrentLimitExceeded):
        await p.commands.create(LIVE, SPEC, PlanLimits(concurrent=1, daily=10), "key-2")
    assert (p.store.slots["org_a"], p.store.daily[f"org_a|{first.scan.day}"]) == (1, 1)
    await p.commands.cancel(LIVE, first.scan.id, "req")  # frees the slot
    retried = await p.commands.create(LIVE, SPEC, PlanLimits(concurrent=1, daily=10), "key-2")
    assert (retried.replayed, p.store.slots["org_a"]) == (False, 1)


async def test_limits_of_zero_mean_unlimited() -> None:
    p = platform()
    for _ in range(3):
        await p.commands.create(LIVE, SPEC, PlanLimits())
    assert (len(p.store.scans), p.store.slots["org_a"], p.store.daily) == (3, 3, {})


async def test_a_store_failure_after_the_reservations_leaves_them_for_the_sweeper() -> None:
    """No rollback here: the process may die at this point too, so the sweeper owns the repair."""
    p = platform()
    p.store.fail_on = {"add"}
    with pytest.raises(ConnectionError):
        await p.commands.create(LIVE, SPEC, LIMITS, "key-1")
    assert (p.store.scans, p.store.slots["org_a"], len(p.store.keys)) == ({}, 1, 1)
    assert p.events.sent == []


async def test_cancelling_a_queued_scan_cancels_it_at_once_and_frees_its_slot() -> None:
    p = platform()
    scan = (await p.commands.create(LIVE, SPEC, LIMITS)).scan
    cancelled = await p.commands.cancel(LIVE, scan.id, "req")
    assert (cancelled.status, cancelled.completed_at) == (CANCELLED, p.clock.now())
    assert p.store.slots["org_a"] == 0
    assert p.events.sent[-1].kind == CANCELLED
    assert p.events.sent[-1].error is not None
    assert p.events.sent[-1].error.code == "SCAN_CANCELLED"
    assert p.events.cancel_broadcasts == []


async def test_cancelling_a_running_scan_asks_the_workers_and_waits_for_them_briefly() -> None:
    p = platform()
    scan = (await p.commands.create(LIVE, SPEC, LIMITS)).scan
    p.store.scans[scan.id] = replace(scan, status="running")
    started = p.clock.monotonic()
    answer = await p.commands.cancel(LIVE, scan.id, "req")
    assert (answer.status, answer.cancel_requested) == ("running", True)
    assert p.events.cancel_broadcasts == [scan.id]
    assert p.clock.monotonic() - started >= 2.0
    assert p.store.slots["org_a"] == 1  # the worker gives it back when it stops


async def test_cancelling_a_finished_scan_changes_nothing() -> None:
    p = platform()
    scan = await finished(p, (await p.commands.create(LIVE, SPEC, LIMITS)).scan)
    events_before = list(p.events.sent)
    assert await p.commands.cancel(LIVE, scan.id, "req") == scan
    assert p.events.sent == events_before


async def test_a_scan_of_the_other_world_cannot_be_cancelled() -> None:
    p = platform()
    scan = (await p.commands.create(LIVE, SPEC, LIMITS)).scan
    with pytest.raises(ScanNotFound):
        await p.commands.cancel(TEST, scan.id, "req")
    assert p.store.scans[scan.id].status == QUEUED


async def test_results_can_be_deleted_only_once_the_scan_has_finished() -> None:
    p = platform()
    scan = (await p.commands.create(LIVE, SPEC, LIMITS)).scan
    with pytest.raises(ScanNotFinished):
        await p.commands.delete_results(LIVE, scan.id)
    await finished(p, scan)
    assert await p.commands.delete_results(LIVE, scan.id) == 0
    assert p.store.scans[scan.id].results_deleted_at == p.clock.now()
