"""auth-service's domain: accounts, plans, API keys, stream tickets, and the rules on them.

No I/O and no protobuf here: repositories store these types, ``mappers.py`` turns them into
messages, and the use cases (``accounts.py``, ``keys.py``, ``tickets.py``) apply the rules.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timedelta
from enum import StrEnum

from rampart.lib.catalogue.scopes import ALL_SCOPES
from rampart.lib.catalogue.scopes import SCOPES as CATALOGUE_SCOPES
from rampart.lib.errors import AlreadyExists, InvalidArgument, NotFound

ALL = ALL_SCOPES
SCOPES = frozenset(CATALOGUE_SCOPES)  # the one list of scopes: rampart.lib.catalogue
MAX_KEYS_PER_ORG = 100
TOUCH_EVERY = timedelta(seconds=60)  # how stale ``last_used_at`` may get before a verify writes it
FREE_PLAN = "free"
INVALID_KEY = "API key is missing or invalid"
INVALID_TICKET = "stream ticket is invalid, used or expired"

Clock = Callable[[], datetime]


class EmailTaken(AlreadyExists):
    public_code = "EMAIL_TAKEN"


class KeyNotFound(NotFound):
    public_code = "NOT_FOUND"


class KeyMode(StrEnum):
    """A live key acts for real; a test key only ever sees the sandbox."""

    LIVE = "live"
    TEST = "test"


def check_scopes(scopes: Iterable[str]) -> tuple[str, ...]:
    """Known scopes, sorted and deduplicated; none at all means every scope (``*``)."""
    wanted = set(scopes)
    unknown = sorted(wanted - SCOPES)
    if unknown:
        raise InvalidArgument(f"unknown scopes: {', '.join(unknown)}", field="scopes", value=unknown)
    return tuple(sorted(wanted)) or (ALL,)


@dataclass(frozen=True)
class PlanLimits:
    """Per-organisation ceilings; 0 means unlimited."""

    requests_per_hour: int
    scans_per_day: int
    concurrent_scans: int
    concurrent_streams: int
    # Hosts one scan may cover (0 = the platform's cap, a /16) and probes per second over all
    # the organisation's scans (0 = only the platform-wide cap). Plans written before these
    # limits existed get the defaults.
    max_hosts_per_scan: int = 256
    probes_per_second: int = 0
    # The assistant (ai-service counts them per organisation per UTC day): requests, and the
    # tokens an operator-configured LLM provider spends.
    ai_requests_per_day: int = 50
    ai_tokens_per_day: int = 20_000

    @classmethod
    def unlimited(cls) -> PlanLimits:
        return cls(**{limit.name: 0 for limit in fields(cls)})


PLAN_FIELDS = tuple(limit.name for limit in fields(PlanLimits))
PLAN_DEFAULTS = {
    "max_hosts_per_scan": 256,
    "probes_per_second": 0,
    "ai_requests_per_day": 50,
    "ai_tokens_per_day": 20_000,
}
# The limits that protect the platform itself: only the enterprise plan may lift them (0).
PROTECTIVE_FIELDS = frozenset(
    {"requests_per_hour", "concurrent_streams", "ai_requests_per_day", "ai_tokens_per_day"}
)
UNLIMITED_PLAN = "enterprise"


def limit_allowed(plan: str, field: str, value: int) -> bool:
    """Whether ``plan`` may hold ``value`` for ``field`` (0 lifts a limit)."""
    return value > 0 or (value == 0 and (field not in PROTECTIVE_FIELDS or plan == UNLIMITED_PLAN))


@dataclass(frozen=True)
class Plan:
    """A named plan and its limits."""

    name: str
    limits: PlanLimits

    def with_overrides(self, overrides: Mapping[str, int]) -> Plan:
        """This plan with an organisation's own limits on top; one the plan may not hold is ignored."""
        allowed = {
            field: value
            for field, value in overrides.items()
            if field in PLAN_FIELDS and limit_allowed(self.name, field, value)
        }
        return replace(self, limits=replace(self.limits, **allowed)) if allowed else self


@dataclass(frozen=True)
class User:
    """A person who signs in with an email and a password."""

    user_id: str
    email: str
    org_id: str
    password_hash: str
    created_at: datetime


@dataclass(frozen=True)
class Organisation:
    """The tenant: every key, scan and limit belongs to one."""

    org_id: str
    name: str
    plan: str
    owner_user_id: str
    created_at: datetime
    limit_overrides: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Owner:
    """Who a request acts for, as the gateway verified it (``key_id`` empty for a signed-in user)."""

    user_id: str
    org_id: str
    mode: KeyMode = KeyMode.LIVE
    key_id: str = ""
    scopes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ApiKey:
    """An API key as stored: a keyed hash of its secret and a visible prefix, never the secret."""

    key_id: str
    org_id: str
    user_id: str
    name: str
    mode: KeyMode
    scopes: tuple[str, ...]
    prefix: str
    key_hash: str
    created_at: datetime
    expires_at: datetime | None = None
    last_used_at: datetime | None = None
    revoked: bool = False
    revoked_at: datetime | None = None

    def is_usable(self, now: datetime) -> bool:
        """Not revoked and not expired."""
        return not self.revoked and (self.expires_at is None or self.expires_at > now)

    def revoke(self, now: datetime) -> ApiKey:
        return self if self.revoked else replace(self, revoked=True, revoked_at=now)

    def needs_touch(self, now: datetime) -> bool:
        """Whether ``last_used_at`` is stale enough to be worth a write."""
        return self.last_used_at is None or now - self.last_used_at > TOUCH_EVERY

    def rotated(self, key_id: str, secret: KeySecret, user_id: str, now: datetime) -> ApiKey:
        """The successor: a new secret with this key's name, mode, scopes and expiry."""
        return replace(
            self,
            key_id=key_id,
            user_id=user_id,
            prefix=secret.prefix,
            key_hash=secret.key_hash,
            created_at=now,
            last_used_at=None,
            revoked=False,
            revoked_at=None,
        )

    def principal(self, plan: Plan) -> Principal:
        owner = Owner(self.user_id, self.org_id, self.mode, self.key_id, self.scopes)
        return Principal(owner, plan, self.expires_at)


@dataclass(frozen=True)
class KeySecret:
    """A freshly generated key: the secret (shown once), its stored hash and visible prefix."""

    secret: str
    key_hash: str
    prefix: str


@dataclass(frozen=True)
class IssuedKey:
    """A key just created or rotated, with the secret its caller sees this once."""

    key: ApiKey
    secret: str


@dataclass(frozen=True)
class StreamTicket:
    """A single-use credential for a key's (or session's) streams, stored only as a hash."""

    ticket_hash: str
    user_id: str
    org_id: str
    mode: KeyMode
    key_id: str  # the issuing key, re-checked on redemption; "" for a signed-in user
    scopes: tuple[str, ...]
    scope: str  # the scan whose streams it opens; "" for any
    expires_at: datetime

    @classmethod
    def issue(cls, ticket_hash: str, owner: Owner, scope: str, expires_at: datetime) -> StreamTicket:
        scopes = owner.scopes or (ALL,)  # a signed-in user's ticket carries every scope
        org, user = owner.org_id, owner.user_id
        return cls(ticket_hash, user, org, owner.mode, owner.key_id, scopes, scope, expires_at)

    def is_expired(self, now: datetime) -> bool:
        return self.expires_at < now

    def principal(self, plan: Plan, expires_at: datetime | None) -> Principal:
        owner = Owner(self.user_id, self.org_id, self.mode, self.key_id, self.scopes)
        return Principal(owner, plan, expires_at, self.scope)


@dataclass(frozen=True)
class IssuedTicket:
    """The ticket string its caller sees once, and its lifetime in seconds."""

    ticket: str
    expires_in: int


@dataclass(frozen=True)
class Principal:
    """Who a verified key or redeemed ticket acts for, and the plan that limits it."""

    owner: Owner
    plan: Plan
    expires_at: datetime | None = None
    ticket_scope: str = ""


@dataclass(frozen=True)
class Registration:
    """A new user, their organisation and its first (live, every-scope) key."""

    user: User
    organisation: Organisation
    first_key: IssuedKey


@dataclass(frozen=True)
class AccessToken:
    """A signed JWT and its lifetime in seconds."""

    token: str
    expires_in: int


@dataclass(frozen=True)
class Profile:
    """The caller's account as ``GET /me`` shows it."""

    user: User
    organisation: Organisation
    plan: Plan
    mode: KeyMode
    key_id: str


@dataclass(frozen=True)
class KeyRevoked:
    """Published once per revocation, so every gateway drops the key from its cache."""

    event_id: str
    key_id: str
    org_id: str
    occurred_at: datetime
