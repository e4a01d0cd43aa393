"""Who is calling: API keys (cached), JWTs (verified locally), stream tickets (single use)."""

from __future__ import annotations

import hashlib
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import grpc
import jwt
from cachetools import TTLCache
from jwt import PyJWK

from rampart.auth.v1 import auth_pb2, auth_pb2_grpc
from rampart.common.v1 import common_pb2
from rampart_gateway.singleflight import SingleFlight

KEY_PREFIXES = ("sk_live_", "sk_test_")
TICKET_PREFIX = "st_"
JWKS_REFRESH_SECONDS = 10.0  # at most this often when an unknown kid shows up
JWKS_MAX_AGE_SECONDS = 300.0  # and at least this often, so retired keys stop verifying
PLAN_CACHE_SECONDS = 30.0


class NotAuthenticated(Exception):
    """The presented credential is not valid; the message is safe to show."""


@dataclass(frozen=True)
class Principal:
    """An authenticated caller and the plan that limits it."""

    owner: common_pb2.Owner
    plan: auth_pb2.Plan
    via: str  # api_key, jwt or ticket
    ticket_scope: str = ""  # the scan whose streams a ticket opens, "" for any

    @property
    def rate_key(self) -> str:
        return self.owner.key_id or f"user:{self.owner.user_id}"

    def allows(self, scope: str) -> bool:
        scopes = self.owner.scopes
        return "*" in scopes or scope in scopes

    @property
    def mode(self) -> str:
        return "test" if self.owner.mode == common_pb2.KEY_MODE_TEST else "live"


def _principal(reply: auth_pb2.VerifyApiKeyResponse, via: str) -> Principal:
    return Principal(reply.owner, reply.plan, via, reply.ticket_scope)


class Authenticator:
    """Resolves credentials with no auth-service hop for one already seen."""

    def __init__(self, channel: grpc.aio.Channel, key_cache_seconds: float, leeway: int) -> None:
        self._auth = auth_pb2_grpc.AuthServiceStub(channel)
        self._keys: TTLCache[str, Principal] = TTLCache(maxsize=100_000, ttl=max(key_cache_seconds, 0.001))
        self._cache_keys_by_key_id: defaultdict[str, set[str]] = defaultdict(set)
        self._key_cache_enabled = key_cache_seconds > 0
        self._tokens: TTLCache[str, tuple[float, common_pb2.Owner]] = TTLCache(maxsize=100_000, ttl=300)
        self._plans: TTLCache[str, auth_pb2.Plan] = TTLCache(maxsize=100_000, ttl=PLAN_CACHE_SECONDS)
        self._key_flights: SingleFlight[Principal] = SingleFlight()
        self._plan_flights: SingleFlight[auth_pb2.Plan] = SingleFlight()
        self._jwks: dict[str, Any] = {}
        self._issuer = ""
        self._audience = ""
        self._jwks_fetched = 0.0
        self._leeway = leeway

    async def authenticate(self, credential: str, allow_ticket: bool = False) -> Principal:
        """``allow_ticket`` only for a ``?ticket=`` on a stream path: tickets open nothing else."""
        if credential.startswith(KEY_PREFIXES):
            return await self.api_key(credential)
        if credential.startswith(TICKET_PREFIX):
            if not allow_ticket:
                raise NotAuthenticated("stream tickets are accepted only as ?ticket= on stream paths")
            return await self.ticket(credential)
        if credential.count(".") == 2:
            return await self.jwt(credential)
        raise NotAuthenticated("API key is missing or invalid")

    async def api_key(self, api_key: str) -> Principal:
        cache_key = hashlib.sha256(api_key.encode()).hexdigest()
        cached = self._keys.get(cache_key)
        if cached is not None:
            return cached
        return await self._key_flights.do(cache_key, lambda: self._verify_key(api_key, cache_key))

    async def _verify_key(self, api_key: str, cache_key: str) -> Principal:
        try:
            reply = await self._auth.VerifyApiKey(auth_pb2.VerifyApiKeyRequest(api_key=api_key), timeout=5)
        except grpc.aio.AioRpcError as error:
            if error.code() == grpc.StatusCode.UNAUTHENTICATED:
                raise NotAuthenticated("API key is missing or invalid") from None
            raise
        principal = _principal(reply, "api_key")
        if self._key_cache_enabled:
            self._keys[cache_key] = principal
            self._cache_keys_by_key_id[principal.owner.key_id].add(cache_key)
        return principal

    def evict_key(self, key_id: str) -> None:
        """Called on a revocation event: the key stops working on this gateway at once."""
        for cache_key in self._cache_keys_by_key_id.pop(key_id, ()):
            self._keys.pop(cache_key, None)

    def forget_all_keys(self) -> None:
        """After a broker outage revocations may have been missed: trust nothing cached."""
        self._keys.clear()
        self._cache_keys_by_key_id.clear()

    async def ticket(self, ticket: str) -> Principal:
        try:
            reply = await self._auth.RedeemStreamTicket(
                auth_pb2.RedeemStreamTicketRequest(ticket=ticket), timeout=5
            )
        except grpc.aio.AioRpcError as error:
            if error.code() == grpc.StatusCode.UNAUTHENTICATED:
                raise NotAuthenticated("stream ticket is invalid, used or expired") from None
            raise
        return _principal(reply, "ticket")

    async def jwt(self, token: str) -> Principal:
        cached = self._tokens.get(token)
        if cached is not None and cached[0] + self._leeway >= time.time():
            owner = cached[1]
        else:
            claims = await self._verify_jwt(token)
            owner = common_pb2.Owner(
                user_id=claims["sub"],
                org_id=claims["org"],
                mode=common_pb2.KEY_MODE_LIVE,
                scopes=str(claims.get("scope", "*")).split() or ["*"],
            )
            self._tokens[token] = (float(claims["exp"]), owner)
        return Principal(owner, await self.plan(owner.org_id), "jwt")

    async def plan(self, org_id: str) -> auth_pb2.Plan:
        plan = self._plans.get(org_id)
        if plan is not None:
            return plan

        async def fetch() -> auth_pb2.Plan:
            reply: auth_pb2.Plan = await self._auth.GetOrgPlan(
                auth_pb2.GetOrgPlanRequest(org_id=org_id), timeout=5
            )
            self._plans[org_id] = reply
            return reply

        return await self._plan_flights.do(org_id, fetch)

    async def _verify_jwt(self, token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise NotAuthenticated("token is malformed") from None
        if header.get("alg") != "EdDSA":
            raise NotAuthenticated("token algorithm is not accepted")
        key = await self._key_for(str(header.get("kid", "")))
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key,
                algorithms=["EdDSA"],
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway,
                options={"require": ["exp", "iat", "nbf", "sub", "iss", "aud", "org"]},
            )
        except jwt.ExpiredSignatureError:
            raise NotAuthenticated("token has expired") from None
        except jwt.PyJWTError:
            raise NotAuthenticated("token is invalid") from None
        return claims

    async def _key_for(self, kid: str) -> Any:
        age = time.monotonic() - self._jwks_fetched
        if (kid not in self._jwks and age > JWKS_REFRESH_SECONDS) or age > JWKS_MAX_AGE_SECONDS:
            reply = await self._auth.GetJwks(auth_pb2.GetJwksRequest(), timeout=5)
            self._jwks = {
                k.kid: PyJWK({"kty": k.kty, "crv": k.crv, "x": k.x, "kid": k.kid}, algorithm="EdDSA").key
                for k in reply.keys
                if k.kty == "OKP" and k.crv == "Ed25519"
            }
            self._issuer, self._audience = reply.issuer, reply.audience
            self._jwks_fetched = time.monotonic()
        if kid not in self._jwks:
            raise NotAuthenticated("token is signed with an unknown key")
        return self._jwks[kid]
