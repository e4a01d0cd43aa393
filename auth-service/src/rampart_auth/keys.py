"""API key use cases: verify, create, list, rotate and revoke, under the rules of ``authority``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from rampart.lib.errors import InvalidArgument, Unauthenticated
from rampart.lib.ids import new_id, utcnow
from rampart_auth import credentials
from rampart_auth.authority import Caller, check_may_manage, is_usable
from rampart_auth.domain import (
    ALL,
    INVALID_KEY,
    MAX_KEYS_PER_ORG,
    ApiKey,
    Clock,
    IssuedKey,
    KeyMode,
    KeyNotFound,
    KeyRevoked,
    Owner,
    Principal,
    check_scopes,
)
from rampart_auth.limits import plan_of
from rampart_auth.ports import AccountStore, AuthEvents, KeyStore

FIRST_KEY_NAME = "default"


class KeyService:
    """Every change a caller asks for is checked against the caller's own stored key."""

    def __init__(
        self,
        keys: KeyStore,
        accounts: AccountStore,
        events: AuthEvents,
        pepper: bytes,
        clock: Clock = utcnow,
    ) -> None:
        self._keys = keys
        self._accounts = accounts
        self._events = events
        self._pepper = pepper
        self._clock = clock

    async def verify(self, api_key: str) -> Principal:
        """The principal of a well-formed, known, unrevoked, unexpired key; else INVALID_API_KEY."""
        if credentials.key_mode(api_key) is None:
            raise Unauthenticated(INVALID_KEY)
        key = await self._keys.by_hash(credentials.hash_api_key(api_key, self._pepper))
        now = self._clock()
        if not is_usable(key, now):
            raise Unauthenticated(INVALID_KEY)
        if key.needs_touch(now):
            await self._keys.touch(key.key_id, now)
        plan = await plan_of(self._accounts, key.org_id)
        if plan is None:
            raise Unauthenticated(INVALID_KEY)
        return key.principal(plan)

    async def first_key(self, owner: Owner, expires_at: datetime) -> IssuedKey:
        """A new account's key: live, every scope (no caller to check: the account is brand new)."""
        return await self._add(owner, FIRST_KEY_NAME, KeyMode.LIVE, (ALL,), expires_at)

    async def create(
        self,
        owner: Owner,
        name: str,
        mode: KeyMode,
        scopes: Sequence[str],
        expires_at: datetime | None,
    ) -> IssuedKey:
        """A new key; no scopes means every scope, which only a ``*`` caller (or a session) may create."""
        if expires_at is not None and expires_at <= self._clock():
            raise InvalidArgument("expires_at must be in the future", field="expires_at")
        wanted = check_scopes(scopes)
        check_may_manage(await self._caller(owner), "create", mode, wanted)
        if len(await self._keys.list_of_org(owner.org_id, include_revoked=False)) >= MAX_KEYS_PER_ORG:
            raise InvalidArgument(f"at most {MAX_KEYS_PER_ORG} active keys", field="keys")
        return await self._add(owner, name.strip()[:100], mode, wanted, expires_at)

    async def list_keys(self, owner: Owner, include_revoked: bool) -> list[ApiKey]:
        return await self._keys.list_of_org(owner.org_id, include_revoked)

    async def revoke(self, owner: Owner, key_id: str) -> ApiKey:
        """Revoke a key of the organisation (a key may always revoke itself); revoking twice is a no-op."""
        existing = await self._keys.of_org(owner.org_id, key_id)
        if existing is None:
            raise KeyNotFound("API key not found", key_id=key_id)
        check_may_manage(await self._caller(owner), "revoke", existing.mode, existing.scopes, key_id)
        return await self._revoke(existing)

    async def rotate(self, owner: Owner, key_id: str) -> IssuedKey:
        """A new secret with the same name, mode, scopes and expiry; the old key is revoked."""
        old = await self._keys.of_org(owner.org_id, key_id)
        if old is None or old.revoked:
            raise KeyNotFound("API key not found", key_id=key_id)
        check_may_manage(await self._caller(owner), "rotate", old.mode, old.scopes)
        secret = credentials.new_key_secret(old.mode, self._pepper)
        successor = old.rotated(new_id("key"), secret, owner.user_id, self._clock())
        await self._keys.add(successor)
        await self._revoke(old)
        return IssuedKey(successor, secret.secret)

    async def _caller(self, owner: Owner) -> Caller | None:
        """The key the request is made with, read from the store (None for a JWT session)."""
        if not owner.key_id:
            return None
        key = await self._keys.of_org(owner.org_id, owner.key_id)
        if not is_usable(key, self._clock()):
            raise Unauthenticated(INVALID_KEY)
        return Caller.of(key)

    async def _add(
        self, owner: Owner, name: str, mode: KeyMode, scopes: tuple[str, ...], expires_at: datetime | None
    ) -> IssuedKey:
        secret = credentials.new_key_secret(mode, self._pepper)
        key = ApiKey(
            key_id=new_id("key"),
            org_id=owner.org_id,
            user_id=owner.user_id,
            name=name,
            mode=mode,
            scopes=scopes,
            prefix=secret.prefix,
            key_hash=secret.key_hash,
            created_at=self._clock(),
            expires_at=expires_at,
        )
        await self._keys.add(key)
        return IssuedKey(key, secret.secret)

    async def _revoke(self, existing: ApiKey) -> ApiKey:
        now = self._clock()
        stored = await self._keys.revoke(existing.revoke(now))
        if stored is None:
            return existing  # already revoked: nothing more to do
        await self._events.key_revoked(KeyRevoked(new_id("evt"), stored.key_id, stored.org_id, now))
        return stored
