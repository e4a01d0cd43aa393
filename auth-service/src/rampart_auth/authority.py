"""Which keys a caller may create, rotate or revoke: never one stronger than itself.

A signed-in user (a JWT session, no key id) manages every key of the organisation. An API key
manages only keys whose scopes are a subset of its own ("*" covers all) and whose mode is no
stronger than its own: a test key manages test keys only, a live key live and test keys (a test
key never sends a packet, and the first key of an account is live). So a narrow or test key can
never mint, or obtain by rotation, a broader or live secret, nor revoke the keys above it.
A key may always revoke itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeGuard

from rampart.lib.errors import PermissionDenied
from rampart_auth.domain import ALL, ApiKey, KeyMode

MODES_MANAGED = {
    KeyMode.LIVE: frozenset({KeyMode.LIVE, KeyMode.TEST}),
    KeyMode.TEST: frozenset({KeyMode.TEST}),
}


@dataclass(frozen=True)
class Caller:
    """The key a request is made with, as auth-service stores it (None for a JWT session)."""

    key_id: str
    mode: KeyMode
    scopes: frozenset[str]

    @classmethod
    def of(cls, key: ApiKey) -> Caller:
        return cls(key.key_id, key.mode, frozenset(key.scopes))


def covers(held: Iterable[str], wanted: Iterable[str]) -> bool:
    """Whether scopes ``held`` include every scope ``wanted``."""
    held = frozenset(held)
    return ALL in held or frozenset(wanted) <= held


def check_may_manage(
    caller: Caller | None, action: str, mode: KeyMode, scopes: Iterable[str], key_id: str = ""
) -> None:
    """Refuse with INSUFFICIENT_PERMISSIONS when ``caller`` may not ``action`` such a key."""
    if caller is None or (action == "revoke" and key_id == caller.key_id):
        return
    wanted = sorted(frozenset(scopes))
    if mode not in MODES_MANAGED.get(caller.mode, frozenset()):
        raise PermissionDenied(
            f"a {caller.mode} key cannot {action} a {mode} key",
            caller_mode=str(caller.mode),
            key_mode=str(mode),
        )
    if not covers(caller.scopes, wanted):
        raise PermissionDenied(
            f"a key cannot {action} a key with scopes beyond its own",
            caller_scopes=sorted(caller.scopes),
            key_scopes=wanted,
        )


def is_usable(key: ApiKey | None, now: datetime) -> TypeGuard[ApiKey]:
    """Present, not revoked and not expired."""
    return key is not None and key.is_usable(now)
