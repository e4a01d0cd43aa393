"""Stream ticket use cases over in-memory fakes: single use, TTL, scoped, tied to the issuing key."""

from __future__ import annotations

from datetime import timedelta

import pytest
from auth_fakes import START, TICKET_TTL, World

from rampart.lib.errors import Unauthenticated
from rampart_auth.domain import IssuedKey, KeyMode, Owner

INVALID = "stream ticket is invalid, used or expired"


@pytest.fixture
async def key(world: World) -> IssuedKey:
    """A live key that expires in a day, of a fresh account."""
    first = (
        await world.auth.accounts.register("alice@example.com", "correct-horse-9-battery", "Acme")
    ).first_key
    owner = Owner(first.key.user_id, first.key.org_id)
    return await world.auth.keys.create(owner, "ci", KeyMode.LIVE, ["scans:read"], START + timedelta(days=1))


def acting(key: IssuedKey) -> Owner:
    k = key.key
    return Owner(k.user_id, k.org_id, k.mode, k.key_id, k.scopes)


async def test_a_ticket_carries_its_issuers_world_scopes_scan_and_key_expiry(
    world: World, key: IssuedKey
) -> None:
    issued = await world.auth.tickets.issue(acting(key), "scan_1")
    assert issued.ticket.startswith("st_")
    assert issued.expires_in == TICKET_TTL.total_seconds()
    principal = await world.auth.tickets.redeem(issued.ticket)
    assert principal.owner == acting(key)
    assert principal.ticket_scope == "scan_1"
    assert principal.expires_at == key.key.expires_at
    assert principal.plan == world.accounts.plans["free"]


async def test_a_ticket_is_stored_only_as_a_hash(world: World, key: IssuedKey) -> None:
    issued = await world.auth.tickets.issue(acting(key), "")
    [stored] = world.tickets.tickets.values()
    assert issued.ticket not in repr(stored)
    assert stored.expires_at == START + TICKET_TTL


async def test_a_ticket_can_be_redeemed_once(world: World, key: IssuedKey) -> None:
    issued = await world.auth.tickets.issue(acting(key), "")
    await world.auth.tickets.redeem(issued.ticket)
    with pytest.raises(Unauthenticated, match=INVALID):
        await world.auth.tickets.redeem(issued.ticket)


async def test_a_ticket_lives_for_its_ttl_only(world: World, key: IssuedKey) -> None:
    fresh, stale = [await world.auth.tickets.issue(acting(key), "") for _ in range(2)]
    world.clock.advance(seconds=TICKET_TTL.total_seconds())
    await world.auth.tickets.redeem(fresh.ticket)  # at the very end of its life: still good
    world.clock.advance(seconds=1)
    with pytest.raises(Unauthenticated, match=INVALID):
        await world.auth.tickets.redeem(stale.ticket)


async def test_a_ticket_is_refused_once_its_issuing_key_is_revoked(world: World, key: IssuedKey) -> None:
    issued = await world.auth.tickets.issue(acting(key), "scan_1")
    await world.auth.keys.revoke(acting(key), key.key.key_id)
    with pytest.raises(Unauthenticated, match=INVALID):
        await world.auth.tickets.redeem(issued.ticket)


async def test_a_ticket_is_refused_once_its_issuing_key_expires(world: World, key: IssuedKey) -> None:
    world.clock.advance(days=1, seconds=-30)
    issued = await world.auth.tickets.issue(acting(key), "")
    world.clock.advance(seconds=31)  # the ticket has 29 s left, its key none
    with pytest.raises(Unauthenticated, match=INVALID):
        await world.auth.tickets.redeem(issued.ticket)


async def test_a_signed_in_users_ticket_carries_every_scope_and_no_key(world: World, key: IssuedKey) -> None:
    owner = Owner(key.key.user_id, key.key.org_id, KeyMode.LIVE)
    principal = await world.auth.tickets.redeem((await world.auth.tickets.issue(owner, "")).ticket)
    assert (principal.owner.key_id, principal.owner.scopes, principal.expires_at) == ("", ("*",), None)


async def test_a_test_keys_ticket_stays_in_the_test_world(world: World, key: IssuedKey) -> None:
    tester = await world.auth.keys.create(acting(key), "t", KeyMode.TEST, ["scans:read"], None)
    principal = await world.auth.tickets.redeem((await world.auth.tickets.issue(acting(tester), "")).ticket)
    assert principal.owner.mode == KeyMode.TEST


async def test_an_unknown_ticket_is_refused(world: World, key: IssuedKey) -> None:
    with pytest.raises(Unauthenticated, match=INVALID):
        await world.auth.tickets.redeem("st_" + "x" * 43)
