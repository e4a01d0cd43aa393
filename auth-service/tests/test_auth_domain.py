"""auth-service's domain types: state transitions and value rules, no I/O."""

from __future__ import annotations

from datetime import timedelta

import pytest
from auth_fakes import START

from rampart.lib.errors import InvalidArgument
from rampart_auth.domain import (
    ApiKey,
    KeyMode,
    KeySecret,
    Owner,
    Plan,
    PlanLimits,
    StreamTicket,
    check_scopes,
)

KEY = ApiKey("key_1", "org_1", "usr_1", "ci", KeyMode.TEST, ("scans:read",), "sk_test_Ab3x", "h1", START)


def test_scopes_are_sorted_deduplicated_and_none_means_every_scope() -> None:
    assert check_scopes(["scans:write", "scans:read", "scans:write"]) == ("scans:read", "scans:write")
    assert check_scopes([]) == ("*",)
    with pytest.raises(InvalidArgument):
        check_scopes(["scans:read", "scans:delete"])


def test_revoking_stamps_the_time_once() -> None:
    revoked = KEY.revoke(START)
    assert (revoked.revoked, revoked.revoked_at, revoked.is_usable(START)) == (True, START, False)
    assert revoked.revoke(START + timedelta(hours=1)).revoked_at == START
    assert KEY.is_usable(START)  # the original is unchanged: keys are values


def test_a_key_is_usable_until_the_instant_it_expires() -> None:
    expiring = ApiKey(**{**KEY.__dict__, "expires_at": START + timedelta(hours=1)})
    assert expiring.is_usable(START + timedelta(minutes=59))
    assert not expiring.is_usable(START + timedelta(hours=1))


def test_a_rotated_key_keeps_its_settings_under_a_new_secret() -> None:
    used = KEY.revoke(START)
    successor = used.rotated(
        "key_2", KeySecret("sk_test_x", "h2", "sk_test_x"), "usr_2", START + timedelta(1)
    )
    assert (successor.key_id, successor.key_hash, successor.user_id) == ("key_2", "h2", "usr_2")
    assert (successor.name, successor.mode, successor.scopes, successor.org_id) == (
        "ci",
        KeyMode.TEST,
        ("scans:read",),
        "org_1",
    )
    assert (successor.revoked, successor.revoked_at, successor.last_used_at) == (False, None, None)


def test_a_key_needs_its_last_use_written_after_a_minute() -> None:
    assert KEY.needs_touch(START)
    used = ApiKey(**{**KEY.__dict__, "last_used_at": START})
    assert not used.needs_touch(START + timedelta(seconds=60))
    assert used.needs_touch(START + timedelta(seconds=61))


def test_overrides_replace_only_the_limits_they_name() -> None:
    free = Plan(
        "free", PlanLimits(requests_per_hour=100, scans_per_day=10, concurrent_scans=2, concurrent_streams=5)
    )
    assert free.with_overrides({}) is free
    assert free.with_overrides({"scans_per_day": 0}).limits == PlanLimits(100, 0, 2, 5)
    assert PlanLimits.unlimited() == PlanLimits(0, 0, 0, 0, 0, 0, 0, 0)


def test_an_override_cannot_lift_a_protective_limit_outside_enterprise() -> None:
    limits = PlanLimits(requests_per_hour=100, scans_per_day=10, concurrent_scans=2, concurrent_streams=5)
    lifted = {"requests_per_hour": 0, "concurrent_streams": 0}
    assert Plan("free", limits).with_overrides(lifted).limits == limits
    assert Plan("enterprise", limits).with_overrides(lifted).limits == PlanLimits(0, 10, 2, 0)


def test_a_ticket_of_a_session_carries_every_scope() -> None:
    ticket = StreamTicket.issue("hash", Owner("usr_1", "org_1"), "scan_1", START)
    assert (ticket.scopes, ticket.key_id, ticket.mode) == (("*",), "", KeyMode.LIVE)
    assert not ticket.is_expired(START)
    assert ticket.is_expired(START + timedelta(microseconds=1))
