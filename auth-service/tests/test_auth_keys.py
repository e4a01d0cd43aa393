"""API key use cases over in-memory fakes: verify, create, rotate, revoke, under the authority rules."""

from __future__ import annotations

from datetime import timedelta

import pytest
from auth_fakes import START, World

from rampart.lib.errors import InvalidArgument, PermissionDenied, Unauthenticated
from rampart_auth import credentials
from rampart_auth.domain import MAX_KEYS_PER_ORG, IssuedKey, KeyMode, KeyNotFound, KeyRevoked, Owner

PASSWORD = "correct-horse-9-battery"


@pytest.fixture
async def account(world: World) -> IssuedKey:
    """Alice's first key: live, every scope."""
    return (await world.auth.accounts.register("alice@example.com", PASSWORD, "Acme")).first_key


def session(key: IssuedKey) -> Owner:
    """The owner of a signed-in user (a JWT) of the key's organisation."""
    return Owner(key.key.user_id, key.key.org_id, KeyMode.LIVE)


def acting(key: IssuedKey) -> Owner:
    """The owner the gateway sends for a request made with ``key``."""
    k = key.key
    return Owner(k.user_id, k.org_id, k.mode, k.key_id, k.scopes)


async def make(
    world: World, by: Owner, scopes: list[str], mode: KeyMode = KeyMode.LIVE, name: str = "k"
) -> IssuedKey:
    return await world.auth.keys.create(by, name, mode, scopes, None)


# verify


async def test_a_malformed_key_is_refused_without_a_lookup(world: World, account: IssuedKey) -> None:
    for bad in ("", "sk_live_short", "sk_prod_" + "a" * 32, account.secret + "x"):
        with pytest.raises(Unauthenticated, match="API key is missing or invalid"):
            await world.auth.keys.verify(bad)
    assert world.keys.touches == []


async def test_an_unknown_well_formed_key_is_refused(world: World, account: IssuedKey) -> None:
    with pytest.raises(Unauthenticated):
        await world.auth.keys.verify(credentials.new_api_key(KeyMode.LIVE))


async def test_a_key_stops_verifying_once_it_expires(world: World, account: IssuedKey) -> None:
    short = await world.auth.keys.create(
        acting(account), "short", KeyMode.LIVE, [], START + timedelta(hours=1)
    )
    world.clock.advance(minutes=59)
    assert (await world.auth.keys.verify(short.secret)).expires_at == START + timedelta(hours=1)
    world.clock.advance(minutes=1)
    with pytest.raises(Unauthenticated):
        await world.auth.keys.verify(short.secret)


async def test_last_used_is_written_at_most_once_a_minute(world: World, account: IssuedKey) -> None:
    for _ in range(3):
        await world.auth.keys.verify(account.secret)
    assert world.keys.touches == [account.key.key_id]
    world.clock.advance(seconds=61)
    await world.auth.keys.verify(account.secret)
    assert world.keys.touches == [account.key.key_id] * 2
    assert world.keys.keys[account.key.key_id].last_used_at == world.clock.now


# create


async def test_a_signed_in_user_may_create_any_key(world: World, account: IssuedKey) -> None:
    live = await make(world, session(account), ["*"])
    test = await make(world, session(account), [], KeyMode.TEST)
    assert (live.key.mode, live.key.scopes) == (KeyMode.LIVE, ("*",))
    assert (test.key.mode, test.key.scopes) == (KeyMode.TEST, ("*",))
    assert credentials.key_mode(test.secret) == "test"


async def test_a_key_may_create_a_key_with_a_subset_of_its_scopes(world: World, account: IssuedKey) -> None:
    manager = await make(world, acting(account), ["keys:manage", "scans:read", "scans:write"])
    narrow = await make(world, acting(manager), ["scans:read", "scans:read"])
    assert narrow.key.scopes == ("scans:read",)


async def test_a_key_cannot_create_a_key_beyond_its_scopes(world: World, account: IssuedKey) -> None:
    manager = await make(world, acting(account), ["keys:manage", "scans:read"])
    before = set(world.keys.keys)
    with pytest.raises(PermissionDenied) as refused:
        await make(world, acting(manager), ["scans:write"])
    assert refused.value.details == {
        "caller_scopes": ["keys:manage", "scans:read"],
        "key_scopes": ["scans:write"],
    }
    assert set(world.keys.keys) == before


async def test_omitted_scopes_mean_every_scope_and_a_narrow_key_cannot_create_that(
    world: World, account: IssuedKey
) -> None:
    manager = await make(world, acting(account), ["keys:manage", "scans:read"])
    with pytest.raises(PermissionDenied):
        await make(world, acting(manager), [])
    assert (await make(world, acting(account), [])).key.scopes == ("*",)


async def test_a_test_key_cannot_create_a_live_key(world: World, account: IssuedKey) -> None:
    tester = await make(world, acting(account), ["*"], KeyMode.TEST)
    with pytest.raises(PermissionDenied, match="a test key cannot create a live key"):
        await make(world, acting(tester), ["scans:read"], KeyMode.LIVE)
    assert (await make(world, acting(tester), ["scans:read"], KeyMode.TEST)).key.mode == KeyMode.TEST


async def test_unknown_scopes_are_refused(world: World, account: IssuedKey) -> None:
    with pytest.raises(InvalidArgument) as refused:
        await make(world, acting(account), ["scans:read", "admin", "root"])
    assert refused.value.details == {"field": "scopes", "value": ["admin", "root"]}


async def test_an_expiry_in_the_past_is_refused(world: World, account: IssuedKey) -> None:
    with pytest.raises(InvalidArgument, match="expires_at must be in the future"):
        await world.auth.keys.create(acting(account), "k", KeyMode.LIVE, [], START)


async def test_names_are_trimmed_to_100_characters(world: World, account: IssuedKey) -> None:
    assert (await make(world, acting(account), [], name="  " + "n" * 150)).key.name == "n" * 100


async def test_an_organisation_holds_at_most_100_active_keys(world: World, account: IssuedKey) -> None:
    for _ in range(MAX_KEYS_PER_ORG - 1):
        await make(world, session(account), [])
    with pytest.raises(InvalidArgument, match="at most 100 active keys"):
        await make(world, session(account), [])
    await world.auth.keys.revoke(session(account), account.key.key_id)
    await make(world, session(account), [])  # a revoked key frees its place


@pytest.mark.parametrize("gone", ["revoked", "expired"])
async def test_a_revoked_or_expired_key_cannot_act(world: World, account: IssuedKey, gone: str) -> None:
    caller = await world.auth.keys.create(acting(account), "c", KeyMode.LIVE, [], START + timedelta(hours=1))
    if gone == "revoked":
        await world.auth.keys.revoke(acting(caller), caller.key.key_id)
    else:
        world.clock.advance(hours=2)
    with pytest.raises(Unauthenticated):
        await make(world, acting(caller), ["scans:read"])
    with pytest.raises(Unauthenticated):
        await world.auth.keys.rotate(acting(caller), account.key.key_id)


async def test_the_callers_stored_scopes_count_not_the_ones_in_the_request(
    world: World, account: IssuedKey
) -> None:
    narrow = await make(world, acting(account), ["keys:manage", "scans:read"])
    forged = Owner(narrow.key.user_id, narrow.key.org_id, KeyMode.LIVE, narrow.key.key_id, ("*",))
    with pytest.raises(PermissionDenied):
        await make(world, forged, ["*"])


# rotate


async def test_rotation_issues_a_new_secret_with_the_same_settings_and_revokes_the_old(
    world: World, account: IssuedKey
) -> None:
    old = await world.auth.keys.create(
        acting(account), "ci", KeyMode.TEST, ["scans:read"], START + timedelta(days=7)
    )
    world.clock.advance(minutes=5)
    new = await world.auth.keys.rotate(acting(account), old.key.key_id)
    assert new.secret != old.secret
    assert new.key.key_id != old.key.key_id
    settings = ("name", "mode", "scopes", "expires_at", "org_id")
    assert [getattr(new.key, s) for s in settings] == [getattr(old.key, s) for s in settings]
    assert new.key.created_at == world.clock.now
    assert world.keys.keys[old.key.key_id].revoked_at == world.clock.now
    with pytest.raises(Unauthenticated):
        await world.auth.keys.verify(old.secret)
    assert (await world.auth.keys.verify(new.secret)).owner.key_id == new.key.key_id


async def test_rotation_publishes_the_old_keys_revocation(world: World, account: IssuedKey) -> None:
    await world.auth.keys.rotate(acting(account), account.key.key_id)
    assert [(e.key_id, e.org_id) for e in world.events.revoked] == [(account.key.key_id, account.key.org_id)]


async def test_a_narrow_key_cannot_rotate_a_broader_key(world: World, account: IssuedKey) -> None:
    manager = await make(world, acting(account), ["keys:manage", "scans:read"])
    with pytest.raises(PermissionDenied):
        await world.auth.keys.rotate(acting(manager), account.key.key_id)
    assert not world.keys.keys[account.key.key_id].revoked
    assert len(world.keys.keys) == 2
    assert world.events.revoked == []


@pytest.mark.parametrize("why", ["revoked", "other organisation", "unknown"])
async def test_only_a_live_key_of_the_organisation_can_be_rotated(
    world: World, account: IssuedKey, why: str
) -> None:
    key_id = account.key.key_id
    if why == "revoked":
        await world.auth.keys.revoke(session(account), key_id)
    elif why == "other organisation":
        bob = await world.auth.accounts.register("bob@example.com", PASSWORD, "Bob")
        key_id = bob.first_key.key.key_id
    else:
        key_id = "key_missing"
    with pytest.raises(KeyNotFound):
        await world.auth.keys.rotate(session(account), key_id)


# revoke and list


async def test_revoking_publishes_one_cache_revocation_event(world: World, account: IssuedKey) -> None:
    spare = await make(world, session(account), ["scans:read"])
    world.clock.advance(seconds=5)
    revoked = await world.auth.keys.revoke(session(account), spare.key.key_id)
    assert (revoked.revoked, revoked.revoked_at) == (True, world.clock.now)
    [event] = world.events.revoked
    assert isinstance(event, KeyRevoked)
    assert (event.key_id, event.org_id, event.occurred_at) == (
        spare.key.key_id,
        spare.key.org_id,
        world.clock.now,
    )
    assert event.event_id.startswith("evt_")


async def test_revoking_twice_changes_nothing_the_second_time(world: World, account: IssuedKey) -> None:
    spare = await make(world, session(account), ["scans:read"])
    first = await world.auth.keys.revoke(session(account), spare.key.key_id)
    world.clock.advance(seconds=5)
    again = await world.auth.keys.revoke(session(account), spare.key.key_id)
    assert again.revoked_at == first.revoked_at
    assert len(world.events.revoked) == 1


async def test_a_key_may_always_revoke_itself(world: World, account: IssuedKey) -> None:
    narrow = await make(world, acting(account), ["scans:read"])  # not even keys:manage
    tester = await make(world, acting(account), ["scans:read"], KeyMode.TEST)
    for key in (narrow, tester):
        assert (await world.auth.keys.revoke(acting(key), key.key.key_id)).revoked


async def test_a_narrow_or_test_key_cannot_revoke_the_owners_key(world: World, account: IssuedKey) -> None:
    narrow = await make(world, acting(account), ["keys:manage", "scans:read"])
    tester = await make(world, acting(account), ["*"], KeyMode.TEST)
    for key in (narrow, tester):
        with pytest.raises(PermissionDenied):
            await world.auth.keys.revoke(acting(key), account.key.key_id)
    assert not world.keys.keys[account.key.key_id].revoked
    assert world.events.revoked == []


async def test_another_organisations_key_is_not_found(world: World, account: IssuedKey) -> None:
    bob = await world.auth.accounts.register("bob@example.com", PASSWORD, "Bob")
    with pytest.raises(KeyNotFound) as missing:
        await world.auth.keys.revoke(session(account), bob.first_key.key.key_id)
    assert missing.value.details == {"key_id": bob.first_key.key.key_id}
    assert not world.keys.keys[bob.first_key.key.key_id].revoked


async def test_listing_shows_revoked_keys_only_when_asked(world: World, account: IssuedKey) -> None:
    spare = await make(world, session(account), ["scans:read"])
    await world.auth.keys.revoke(session(account), spare.key.key_id)
    active = await world.auth.keys.list_keys(session(account), include_revoked=False)
    every = await world.auth.keys.list_keys(session(account), include_revoked=True)
    assert [k.key_id for k in active] == [account.key.key_id]
    assert [k.key_id for k in every] == [account.key.key_id, spare.key.key_id]
