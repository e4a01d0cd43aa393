"""In-memory fakes of auth-service's adapters, and one wired set of use cases over them.

Named ``auth_fakes`` (not ``fakes``): test folders are not packages, so module names must be
unique across the workspace's test folders.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from rampart_auth.api import AuthServices
from rampart_auth.bootstrap import Adapters, Policy, build_services
from rampart_auth.domain import (
    ApiKey,
    EmailTaken,
    KeyRevoked,
    Organisation,
    Plan,
    PlanLimits,
    StreamTicket,
    User,
)
from rampart_auth.tokens import SigningKey, TokenIssuer

START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
PEPPER = b"unit-test-pepper-unit-test-pepper"
TICKET_TTL = timedelta(seconds=60)
INITIAL_KEY_TTL = timedelta(days=365)
PLANS = {
    "free": Plan(
        "free", PlanLimits(requests_per_hour=100, scans_per_day=10, concurrent_scans=2, concurrent_streams=5)
    ),
    "pro": Plan(
        "pro", PlanLimits(requests_per_hour=1000, scans_per_day=0, concurrent_scans=10, concurrent_streams=25)
    ),
}


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class FakeAccountStore:
    """Users, organisations and plans in dicts."""

    def __init__(self) -> None:
        self.users: dict[str, User] = {}
        self.orgs: dict[str, Organisation] = {}
        self.plans: dict[str, Plan] = dict(PLANS)

    async def add_user(self, user: User) -> None:
        if any(existing.email == user.email for existing in self.users.values()):
            raise EmailTaken("an account with this email already exists", field="email")
        self.users[user.user_id] = user

    async def user_by_email(self, email: str) -> User | None:
        return next((user for user in self.users.values() if user.email == email), None)

    async def user_of_org(self, user_id: str, org_id: str) -> User | None:
        user = self.users.get(user_id)
        return user if user is not None and user.org_id == org_id else None

    async def add_organisation(self, org: Organisation) -> None:
        self.orgs[org.org_id] = org

    async def organisation(self, org_id: str) -> Organisation | None:
        return self.orgs.get(org_id)

    async def plan(self, name: str) -> Plan | None:
        return self.plans.get(name)


class FakeKeyStore:
    """API keys in a dict, in creation order."""

    def __init__(self) -> None:
        self.keys: dict[str, ApiKey] = {}
        self.touches: list[str] = []

    async def add(self, key: ApiKey) -> None:
        assert all(existing.key_hash != key.key_hash for existing in self.keys.values())
        self.keys[key.key_id] = key

    async def by_hash(self, key_hash: str) -> ApiKey | None:
        return next((key for key in self.keys.values() if key.key_hash == key_hash), None)

    async def of_org(self, org_id: str, key_id: str) -> ApiKey | None:
        key = self.keys.get(key_id)
        return key if key is not None and key.org_id == org_id else None

    async def list_of_org(self, org_id: str, include_revoked: bool) -> list[ApiKey]:
        return [k for k in self.keys.values() if k.org_id == org_id and (include_revoked or not k.revoked)]

    async def revoke(self, key: ApiKey) -> ApiKey | None:
        stored = await self.of_org(key.org_id, key.key_id)
        if stored is None or stored.revoked:
            return None
        self.keys[key.key_id] = replace(stored, revoked=True, revoked_at=key.revoked_at)
        return self.keys[key.key_id]

    async def touch(self, key_id: str, now: datetime) -> None:
        self.touches.append(key_id)
        self.keys[key_id] = replace(self.keys[key_id], last_used_at=now)


class FakeTicketStore:
    """Tickets by hash; taking one removes it."""

    def __init__(self) -> None:
        self.tickets: dict[str, StreamTicket] = {}

    async def add(self, ticket: StreamTicket) -> None:
        self.tickets[ticket.ticket_hash] = ticket

    async def take(self, ticket_hash: str) -> StreamTicket | None:
        return self.tickets.pop(ticket_hash, None)


class FakeEvents:
    """Records what would go to the outbox."""

    def __init__(self) -> None:
        self.revoked: list[KeyRevoked] = []

    async def key_revoked(self, event: KeyRevoked) -> None:
        self.revoked.append(event)


class FakePasswords:
    """A reversible "hash", and a log of every verification (None = the unknown-user path)."""

    def __init__(self) -> None:
        self.verified: list[str | None] = []

    async def hash(self, password: str) -> str:
        return f"fake${password}"

    async def verify(self, stored: str | None, password: str) -> bool:
        self.verified.append(stored)
        return stored is not None and stored == f"fake${password}"


def token_issuer(ttl_seconds: int = 600) -> TokenIssuer:
    return TokenIssuer(
        [SigningKey("unit", Ed25519PrivateKey.generate())], "rampart", "rampart-api", ttl_seconds
    )


@dataclass
class World:
    """The use cases over fresh fakes, with handles on every fake."""

    clock: FakeClock = field(default_factory=FakeClock)
    accounts: FakeAccountStore = field(default_factory=FakeAccountStore)
    keys: FakeKeyStore = field(default_factory=FakeKeyStore)
    tickets: FakeTicketStore = field(default_factory=FakeTicketStore)
    events: FakeEvents = field(default_factory=FakeEvents)
    passwords: FakePasswords = field(default_factory=FakePasswords)
    tokens: TokenIssuer = field(default_factory=token_issuer)
    auth: AuthServices = field(init=False)

    def __post_init__(self) -> None:
        self.auth = build_services(self.adapters(), self.tokens, Policy(PEPPER, INITIAL_KEY_TTL, TICKET_TTL))

    def adapters(self) -> Adapters:
        return Adapters(self.accounts, self.keys, self.tickets, self.events, self.passwords, self.clock)
