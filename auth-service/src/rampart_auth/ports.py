"""What the use cases need from the outside world; ``repository.py`` and ``events.py`` provide it.

Unit tests swap each for an in-memory fake (``auth-service/tests/auth_fakes.py``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from rampart_auth.domain import ApiKey, KeyRevoked, Organisation, Plan, StreamTicket, User


class AccountStore(Protocol):
    """Users, organisations and plans."""

    async def add_user(self, user: User) -> None:
        """Store a new user; raises ``EmailTaken`` when the email is already registered."""

    async def user_by_email(self, email: str) -> User | None: ...

    async def user_of_org(self, user_id: str, org_id: str) -> User | None: ...

    async def add_organisation(self, org: Organisation) -> None: ...

    async def organisation(self, org_id: str) -> Organisation | None: ...

    async def plan(self, name: str) -> Plan | None: ...


class KeyStore(Protocol):
    """API keys; every lookup by id is scoped by organisation."""

    async def add(self, key: ApiKey) -> None: ...

    async def by_hash(self, key_hash: str) -> ApiKey | None: ...

    async def of_org(self, org_id: str, key_id: str) -> ApiKey | None: ...

    async def list_of_org(self, org_id: str, include_revoked: bool) -> list[ApiKey]:
        """Oldest first."""

    async def revoke(self, key: ApiKey) -> ApiKey | None:
        """Store ``key``'s revocation if it is not revoked yet; the stored key, or None if it was."""

    async def touch(self, key_id: str, now: datetime) -> None: ...


class TicketStore(Protocol):
    """Stream tickets, by hash."""

    async def add(self, ticket: StreamTicket) -> None: ...

    async def take(self, ticket_hash: str) -> StreamTicket | None:
        """Remove and return: a ticket can be taken exactly once."""


class AuthEvents(Protocol):
    """Where auth's events go (the transactional outbox in production)."""

    async def key_revoked(self, event: KeyRevoked) -> None: ...


class PasswordHashing(Protocol):
    """Slow password hashing (``credentials.Passwords``)."""

    async def hash(self, password: str) -> str: ...

    async def verify(self, stored: str | None, password: str) -> bool:
        """Constant work whether or not there is a stored hash (None for an unknown user)."""
