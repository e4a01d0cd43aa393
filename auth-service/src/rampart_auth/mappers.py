"""Domain types to and from auth's protobuf messages: the only module besides ``api.py`` that knows them."""

from __future__ import annotations

from dataclasses import asdict

from rampart.auth.v1 import auth_pb2
from rampart.common.v1 import common_pb2
from rampart.lib.ids import to_timestamp
from rampart_auth.domain import (
    AccessToken,
    ApiKey,
    IssuedKey,
    IssuedTicket,
    KeyMode,
    KeyRevoked,
    Owner,
    Plan,
    Principal,
    Profile,
    Registration,
)
from rampart_auth.tokens import JwkSet

MODES = {KeyMode.LIVE: common_pb2.KEY_MODE_LIVE, KeyMode.TEST: common_pb2.KEY_MODE_TEST}


def mode_of(mode: common_pb2.KeyMode.ValueType) -> KeyMode:
    """Anything but an explicit test mode is live (a signed-in user acts in the live world)."""
    return KeyMode.TEST if mode == common_pb2.KEY_MODE_TEST else KeyMode.LIVE


def owner_of(owner: common_pb2.Owner) -> Owner:
    return Owner(owner.user_id, owner.org_id, mode_of(owner.mode), owner.key_id, tuple(owner.scopes))


def owner_message(owner: Owner) -> common_pb2.Owner:
    return common_pb2.Owner(
        user_id=owner.user_id,
        org_id=owner.org_id,
        mode=MODES[owner.mode],
        key_id=owner.key_id,
        scopes=owner.scopes,
    )


def plan_message(plan: Plan) -> auth_pb2.Plan:
    return auth_pb2.Plan(name=plan.name, **asdict(plan.limits))


def key_message(key: ApiKey) -> auth_pb2.ApiKey:
    return auth_pb2.ApiKey(
        key_id=key.key_id,
        name=key.name,
        mode=MODES[key.mode],
        prefix=key.prefix,
        scopes=key.scopes,
        created_at=to_timestamp(key.created_at),
        last_used_at=to_timestamp(key.last_used_at),
        expires_at=to_timestamp(key.expires_at),
        revoked_at=to_timestamp(key.revoked_at),
    )


def issued_key_message(issued: IssuedKey) -> auth_pb2.CreatedApiKey:
    return auth_pb2.CreatedApiKey(key=key_message(issued.key), secret=issued.secret)


def registration_message(registration: Registration) -> auth_pb2.RegisterResponse:
    return auth_pb2.RegisterResponse(
        user_id=registration.user.user_id,
        org_id=registration.organisation.org_id,
        api_key=issued_key_message(registration.first_key),
    )


def token_message(token: AccessToken) -> auth_pb2.TokenResponse:
    return auth_pb2.TokenResponse(
        access_token=token.token,
        token_type="bearer",  # noqa: S106 - the OAuth2 token type, not a secret
        expires_in=token.expires_in,
    )


def jwks_message(jwks: JwkSet) -> auth_pb2.GetJwksResponse:
    return auth_pb2.GetJwksResponse(
        keys=[auth_pb2.Jwk(**jwk) for jwk in jwks.keys], issuer=jwks.issuer, audience=jwks.audience
    )


def principal_message(principal: Principal) -> auth_pb2.VerifyApiKeyResponse:
    return auth_pb2.VerifyApiKeyResponse(
        owner=owner_message(principal.owner),
        plan=plan_message(principal.plan),
        expires_at=to_timestamp(principal.expires_at),
        ticket_scope=principal.ticket_scope,
    )


def profile_message(profile: Profile) -> auth_pb2.Profile:
    return auth_pb2.Profile(
        user_id=profile.user.user_id,
        email=profile.user.email,
        org_id=profile.organisation.org_id,
        organization_name=profile.organisation.name,
        plan=plan_message(profile.plan),
        created_at=to_timestamp(profile.user.created_at),
        mode=MODES[profile.mode],
        key_id=profile.key_id,
    )


def ticket_message(ticket: IssuedTicket) -> auth_pb2.StreamTicket:
    return auth_pb2.StreamTicket(ticket=ticket.ticket, expires_in=ticket.expires_in)


def key_revoked_message(event: KeyRevoked) -> auth_pb2.ApiKeyRevoked:
    return auth_pb2.ApiKeyRevoked(
        event_id=event.event_id,
        key_id=event.key_id,
        org_id=event.org_id,
        occurred_at=to_timestamp(event.occurred_at),
    )
