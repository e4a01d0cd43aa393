"""Account use cases over in-memory fakes: register, sign in, profile and plans."""

from __future__ import annotations

from dataclasses import replace

import jwt
import pytest
from auth_fakes import INITIAL_KEY_TTL, PEPPER, START, World
from jwt import PyJWK

from rampart.lib.errors import InvalidArgument, NotFound, Unauthenticated
from rampart_auth import credentials
from rampart_auth.domain import EmailTaken, KeyMode, Owner, PlanLimits, Registration

PASSWORD = "correct-horse-9-battery"


async def register(world: World, email: str = "alice@example.com", org: str = "Acme") -> Registration:
    return await world.auth.accounts.register(email, PASSWORD, org)


async def test_register_creates_a_free_organisation_owned_by_the_new_user(world: World) -> None:
    done = await register(world, "  Alice@Example.COM ")
    assert done.user.email == "alice@example.com"
    assert world.accounts.users == {done.user.user_id: done.user}
    org = world.accounts.orgs[done.organisation.org_id]
    assert (org.name, org.plan, org.owner_user_id, org.created_at) == (
        "Acme",
        "free",
        done.user.user_id,
        START,
    )
    assert done.user.org_id == org.org_id
    assert done.user.password_hash == f"fake${PASSWORD}"  # never the password itself


async def test_an_unnamed_organisation_is_named_after_the_email(world: World) -> None:
    done = await register(world, org="   ")
    assert done.organisation.name == "alice@example.com"


async def test_the_first_key_is_live_with_every_scope_and_the_initial_lifetime(world: World) -> None:
    first = (await register(world)).first_key
    assert (first.key.name, first.key.mode, first.key.scopes) == ("default", KeyMode.LIVE, ("*",))
    assert first.key.expires_at == START + INITIAL_KEY_TTL
    assert credentials.key_mode(first.secret) == "live"
    stored = world.keys.keys[first.key.key_id]
    assert stored.key_hash == credentials.hash_api_key(first.secret, PEPPER)
    assert stored.prefix == first.secret[:12]
    assert first.secret not in repr(stored)


async def test_the_first_key_verifies_to_its_owner_on_the_free_plan(world: World) -> None:
    done = await register(world)
    principal = await world.auth.keys.verify(done.first_key.secret)
    assert principal.owner == Owner(
        done.user.user_id, done.organisation.org_id, KeyMode.LIVE, done.first_key.key.key_id, ("*",)
    )
    assert principal.plan == world.accounts.plans["free"]
    assert principal.expires_at == START + INITIAL_KEY_TTL


async def test_a_taken_email_is_refused_in_any_case_and_creates_nothing(world: World) -> None:
    await register(world)
    with pytest.raises(EmailTaken) as taken:
        await register(world, "ALICE@example.com", "Other")
    assert taken.value.public_code == "EMAIL_TAKEN"
    assert (len(world.accounts.users), len(world.accounts.orgs), len(world.keys.keys)) == (1, 1, 1)


@pytest.mark.parametrize(("email", "password"), [("not-an-email", PASSWORD), ("bob@example.com", "short1")])
async def test_invalid_registration_is_refused_before_anything_is_stored(
    world: World, email: str, password: str
) -> None:
    with pytest.raises(InvalidArgument):
        await world.auth.accounts.register(email, password, "Acme")
    assert (world.accounts.users, world.accounts.orgs, world.keys.keys) == ({}, {}, {})


async def test_login_issues_a_jwt_for_the_user_with_the_requested_scopes(world: World) -> None:
    done = await register(world)
    token = await world.auth.accounts.issue_token("Alice@Example.com", PASSWORD, ["scans:read"])
    assert token.expires_in == world.tokens.ttl_seconds
    jwks = world.auth.accounts.jwks()
    claims = jwt.decode(
        token.token, PyJWK(jwks.keys[0]).key, algorithms=["EdDSA"], audience=jwks.audience, issuer=jwks.issuer
    )
    assert (claims["sub"], claims["org"], claims["scope"]) == (
        done.user.user_id,
        done.organisation.org_id,
        "scans:read",
    )


async def test_login_without_scopes_asks_for_every_scope(world: World) -> None:
    await register(world)
    token = await world.auth.accounts.issue_token("alice@example.com", PASSWORD, [])
    assert jwt.decode(token.token, options={"verify_signature": False})["scope"] == "*"


async def test_login_with_a_wrong_password_is_refused(world: World) -> None:
    await register(world)
    with pytest.raises(Unauthenticated, match="incorrect email or password"):
        await world.auth.accounts.issue_token("alice@example.com", PASSWORD + "x", [])


@pytest.mark.parametrize("username", ["nobody@example.com", "not an email"])
async def test_an_unknown_user_costs_the_same_password_check_as_a_wrong_password(
    world: World, username: str
) -> None:
    await register(world)
    with pytest.raises(Unauthenticated, match="incorrect email or password"):
        await world.auth.accounts.issue_token(username, PASSWORD, [])
    assert world.passwords.verified == [None]  # the dummy-hash path: as slow as a real check


async def test_login_with_unknown_scopes_is_refused(world: World) -> None:
    await register(world)
    with pytest.raises(InvalidArgument, match="unknown scopes: root"):
        await world.auth.accounts.issue_token("alice@example.com", PASSWORD, ["root"])


async def test_profile_shows_the_user_their_organisation_plan_and_calling_key(world: World) -> None:
    done = await register(world)
    owner = Owner(done.user.user_id, done.organisation.org_id, KeyMode.TEST, "key_abc")
    profile = await world.auth.accounts.profile(owner)
    assert (profile.user, profile.organisation) == (done.user, done.organisation)
    assert (profile.plan.name, profile.mode, profile.key_id) == ("free", KeyMode.TEST, "key_abc")


async def test_profile_of_a_user_outside_the_callers_organisation_is_not_found(world: World) -> None:
    alice, bob = await register(world), await register(world, "bob@example.com")
    with pytest.raises(NotFound):
        await world.auth.accounts.profile(Owner(bob.user.user_id, alice.organisation.org_id))


async def test_an_organisations_own_limits_override_its_plan(world: World) -> None:
    org_id = (await register(world)).organisation.org_id
    org = world.accounts.orgs[org_id]
    world.accounts.orgs[org_id] = replace(org, limit_overrides={"requests_per_hour": 3})
    plan = await world.auth.accounts.org_plan(org_id)
    assert plan.name == "free"
    assert plan.limits == PlanLimits(
        requests_per_hour=3, scans_per_day=10, concurrent_scans=2, concurrent_streams=5
    )


async def test_changing_an_organisations_plan_changes_its_limits(world: World) -> None:
    org_id = (await register(world)).organisation.org_id
    world.accounts.orgs[org_id] = replace(world.accounts.orgs[org_id], plan="pro")
    assert await world.auth.accounts.org_plan(org_id) == world.accounts.plans["pro"]


async def test_a_plan_missing_from_the_store_limits_nothing(world: World) -> None:
    org_id = (await register(world)).organisation.org_id
    world.accounts.orgs[org_id] = replace(world.accounts.orgs[org_id], plan="team")
    plan = await world.auth.accounts.org_plan(org_id)
    assert (plan.name, plan.limits) == ("team", PlanLimits.unlimited())


async def test_an_unknown_organisation_has_no_plan(world: World) -> None:
    with pytest.raises(NotFound, match="organisation not found"):
        await world.auth.accounts.org_plan("org_missing")
