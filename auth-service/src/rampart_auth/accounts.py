"""Account use cases: register, sign in (a JWT), the caller's profile, an organisation's plan."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from rampart.lib.errors import InvalidArgument, NotFound, Unauthenticated
from rampart.lib.ids import new_id, utcnow
from rampart_auth import credentials
from rampart_auth.domain import (
    FREE_PLAN,
    AccessToken,
    Clock,
    Organisation,
    Owner,
    Plan,
    Profile,
    Registration,
    User,
    check_scopes,
)
from rampart_auth.keys import KeyService
from rampart_auth.limits import plan_for, plan_of
from rampart_auth.ports import AccountStore, PasswordHashing
from rampart_auth.tokens import JwkSet, TokenIssuer


class AccountService:
    """Sign-up, sign-in and what an account sees of itself."""

    def __init__(
        self,
        store: AccountStore,
        keys: KeyService,
        passwords: PasswordHashing,
        tokens: TokenIssuer,
        initial_key_ttl: timedelta,
        clock: Clock = utcnow,
    ) -> None:
        self._store = store
        self._keys = keys
        self._passwords = passwords
        self._tokens = tokens
        self._initial_key_ttl = initial_key_ttl
        self._clock = clock

    async def register(self, email: str, password: str, org_name: str) -> Registration:
        """A user, their organisation on the free plan, and its first live key with every scope."""
        email = credentials.normalise_email(email)
        credentials.check_password(password, email)
        user_id, org_id, now = new_id("usr"), new_id("org"), self._clock()
        user = User(user_id, email, org_id, await self._passwords.hash(password), now)
        await self._store.add_user(user)  # EmailTaken when registered already
        org = Organisation(org_id, org_name.strip()[:200] or email, FREE_PLAN, user_id, now)
        await self._store.add_organisation(org)
        first_key = await self._keys.first_key(Owner(user_id, org_id), now + self._initial_key_ttl)
        return Registration(user, org, first_key)

    async def issue_token(self, username: str, password: str, scopes: Sequence[str]) -> AccessToken:
        """A JWT for the right email and password; an unknown email costs the same hashing work."""
        try:
            email = credentials.normalise_email(username)
        except InvalidArgument:
            email = ""
        user = await self._store.user_by_email(email) if email else None
        stored = user.password_hash if user else None
        if not await self._passwords.verify(stored, password) or user is None:
            raise Unauthenticated("incorrect email or password")
        token = self._tokens.issue(user.user_id, user.org_id, check_scopes(scopes))
        return AccessToken(token, self._tokens.ttl_seconds)

    def jwks(self) -> JwkSet:
        return self._tokens.key_set()

    async def profile(self, owner: Owner) -> Profile:
        user = await self._store.user_of_org(owner.user_id, owner.org_id)
        org = await self._store.organisation(owner.org_id)
        if user is None or org is None:
            raise NotFound("user not found")
        return Profile(user, org, await plan_for(self._store, org), owner.mode, owner.key_id)

    async def org_plan(self, org_id: str) -> Plan:
        plan = await plan_of(self._store, org_id)
        if plan is None:
            raise NotFound("organisation not found")
        return plan
