"""Stream ticket use cases: issue a short-lived single-use ticket, redeem it once."""

from __future__ import annotations

from datetime import timedelta

from rampart.lib.errors import Unauthenticated
from rampart.lib.ids import utcnow
from rampart_auth import credentials
from rampart_auth.authority import is_usable
from rampart_auth.domain import (
    INVALID_KEY,
    INVALID_TICKET,
    Clock,
    IssuedTicket,
    Owner,
    Principal,
    StreamTicket,
)
from rampart_auth.limits import plan_of
from rampart_auth.ports import AccountStore, KeyStore, TicketStore


class TicketService:
    """Tickets let a browser open a scan's streams without putting a key in a URL."""

    def __init__(
        self,
        tickets: TicketStore,
        keys: KeyStore,
        accounts: AccountStore,
        ttl: timedelta,
        clock: Clock = utcnow,
    ) -> None:
        self._tickets = tickets
        self._keys = keys
        self._accounts = accounts
        self._ttl = ttl
        self._clock = clock

    async def issue(self, owner: Owner, scope: str) -> IssuedTicket:
        """A ticket carrying the owner's world and scopes, for one scan's streams when ``scope`` is set."""
        ticket = credentials.new_stream_ticket()
        expires_at = self._clock() + self._ttl
        await self._tickets.add(
            StreamTicket.issue(credentials.hash_stream_ticket(ticket), owner, scope, expires_at)
        )
        return IssuedTicket(ticket, int(self._ttl.total_seconds()))

    async def redeem(self, ticket: str) -> Principal:
        """Once, before it expires, and only while the key that issued it is still usable."""
        stored = await self._tickets.take(credentials.hash_stream_ticket(ticket))
        now = self._clock()
        if stored is None or stored.is_expired(now):
            raise Unauthenticated(INVALID_TICKET)
        key_expires = None
        if stored.key_id:  # the issuing key must still be valid: revoked or expired since, refused
            key = await self._keys.of_org(stored.org_id, stored.key_id)
            if not is_usable(key, now):
                raise Unauthenticated(INVALID_TICKET)
            key_expires = key.expires_at
        plan = await plan_of(self._accounts, stored.org_id)
        if plan is None:
            raise Unauthenticated(INVALID_KEY)
        return stored.principal(plan, key_expires)
