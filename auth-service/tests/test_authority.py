"""Which keys a caller may create, rotate or revoke."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from rampart.lib.errors import PermissionDenied
from rampart_auth.authority import Caller, check_may_manage, covers, is_usable
from rampart_auth.domain import ApiKey, KeyMode

OWNER = Caller("key_owner", "live", frozenset({"*"}))
MANAGER = Caller("key_mgr", "live", frozenset({"keys:manage", "scans:read"}))
TESTER = Caller("key_test", "test", frozenset({"*"}))


def test_star_covers_everything_and_a_narrow_set_only_its_subsets() -> None:
    assert covers({"*"}, {"*", "scans:write"})
    assert covers({"keys:manage", "scans:read"}, {"scans:read"})
    assert not covers({"keys:manage", "scans:read"}, {"*"})
    assert not covers({"keys:manage"}, {"keys:manage", "scans:write"})


def test_a_session_may_manage_any_key() -> None:
    for action in ("create", "rotate", "revoke"):
        check_may_manage(None, action, "live", ["*"])
        check_may_manage(None, action, "test", ["*"])


def test_a_key_manages_keys_of_its_own_mode_within_its_scopes() -> None:
    check_may_manage(OWNER, "create", "live", ["scans:read"])
    check_may_manage(MANAGER, "create", "live", ["scans:read"])
    check_may_manage(MANAGER, "rotate", "live", ["keys:manage", "scans:read"])
    check_may_manage(TESTER, "create", "test", ["*"])
    check_may_manage(OWNER, "create", "test", ["*"])  # a test key is weaker: it never sends a packet
    check_may_manage(MANAGER, "rotate", "test", ["scans:read"])


@pytest.mark.parametrize(
    ("caller", "action", "mode", "scopes"),
    [
        (MANAGER, "create", "live", ["*"]),
        (MANAGER, "create", "live", ["scans:write"]),
        (MANAGER, "rotate", "live", ["*"]),  # the owner's key: its new secret would go to MANAGER
        (MANAGER, "revoke", "live", ["*"]),
        (TESTER, "create", "live", ["scans:read"]),
        (TESTER, "rotate", "live", ["*"]),
        (TESTER, "revoke", "live", ["scans:read"]),
        (MANAGER, "create", "test", ["*"]),
    ],
)
def test_a_key_cannot_manage_a_stronger_or_other_world_key(
    caller: Caller, action: str, mode: str, scopes: list[str]
) -> None:
    with pytest.raises(PermissionDenied) as refused:
        check_may_manage(caller, action, mode, scopes, key_id="key_other")
    assert refused.value.public_code == "INSUFFICIENT_PERMISSIONS"


def test_a_key_may_always_revoke_itself() -> None:
    check_may_manage(MANAGER, "revoke", "live", ["keys:manage", "scans:read"], key_id="key_mgr")
    check_may_manage(TESTER, "revoke", "test", ["*"], key_id="key_test")


def test_revoked_or_expired_keys_are_not_usable() -> None:
    now = datetime.now(UTC)
    key = ApiKey("key_1", "org_1", "usr_1", "", KeyMode.LIVE, ("*",), "sk_live_Ab3x", "hash", now)
    assert is_usable(key, now)
    assert not is_usable(None, now)
    assert not is_usable(replace(key, revoked=True), now)
    assert not is_usable(replace(key, expires_at=now - timedelta(seconds=1)), now)
    assert is_usable(replace(key, expires_at=now + timedelta(hours=1)), now)
