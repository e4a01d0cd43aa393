"""Auth use cases: register, tokens, API keys, plans, stream tickets."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pymongo.errors import DuplicateKeyError

from rampart.auth.v1 import auth_pb2
from rampart.common.v1 import common_pb2
from rampart.lib.catalogue import SCOPES as CATALOGUE_SCOPES
from rampart.lib.catalogue import subjects
from rampart.lib.errors import AlreadyExists, InvalidArgument, NotFound, Unauthenticated
from rampart.lib.ids import new_id, to_timestamp, utcnow
from rampart.lib.logging import current_request_id
from rampart.lib.outbox import Outbox
from rampart.lib.store import Document, read_time
from rampart_auth import credentials
from rampart_auth.authority import Caller, check_may_manage, is_usable
from rampart_auth.repository import AuthRepository
from rampart_auth.tokens import TokenIssuer

SCOPES = frozenset(CATALOGUE_SCOPES)
MAX_KEYS_PER_ORG = 100
TOUCH_EVERY = timedelta(seconds=60)
MODES = {"live": common_pb2.KEY_MODE_LIVE, "test": common_pb2.KEY_MODE_TEST}


class EmailTaken(AlreadyExists):
    public_code = "EMAIL_TAKEN"


class KeyNotFound(NotFound):
    public_code = "NOT_FOUND"


@dataclass(frozen=True)
class Secrets:
    pepper: bytes
    initial_key_ttl: timedelta
    ticket_ttl: timedelta


def check_scopes(scopes: list[str]) -> list[str]:
    unknown = sorted(set(scopes) - SCOPES)
    if unknown:
        raise InvalidArgument(f"unknown scopes: {', '.join(unknown)}", field="scopes", value=unknown)
    return sorted(set(scopes)) or ["*"]


def plan_message(limits: dict[str, Any]) -> auth_pb2.Plan:
    return auth_pb2.Plan(**limits)


def key_message(doc: Document) -> auth_pb2.ApiKey:
    return auth_pb2.ApiKey(
        key_id=doc["_id"],
        name=doc.get("name", ""),
        mode=MODES[doc["mode"]],
        prefix=doc["prefix"],
        scopes=doc["scopes"],
        created_at=to_timestamp(read_time(doc["created_at"])),
        last_used_at=to_timestamp(read_time(doc.get("last_used_at"))),
        expires_at=to_timestamp(read_time(doc.get("expires_at"))),
        revoked_at=to_timestamp(read_time(doc.get("revoked_at"))),
    )


class AuthCommands:
    """Entry points call these; they hold no transport concerns."""

    def __init__(
        self,
        repo: AuthRepository,
        passwords: credentials.Passwords,
        tokens: TokenIssuer,
        outbox: Outbox,
        secrets_: Secrets,
    ) -> None:
        self._repo = repo
        self._passwords = passwords
        self._tokens = tokens
        self._outbox = outbox
        self._secrets = secrets_

    async def register(self, email: str, password: str, org_name: str) -> auth_pb2.RegisterResponse:
        email = credentials.normalise_email(email)
        credentials.check_password(password, email)
        user_id, org_id, now = new_id("usr"), new_id("org"), utcnow()
        user = {
            "_id": user_id,
            "email": email,
            "org_id": org_id,
            "created_at": now,
            "password_hash": await self._passwords.hash(password),
        }
        try:
            await self._repo.users.insert_one(user)
        except DuplicateKeyError:
            raise EmailTaken("an account with this email already exists", field="email") from None
        await self._repo.orgs.insert_one(
            {
                "_id": org_id,
                "name": org_name.strip()[:200] or email,
                "plan": "free",
                "owner_user_id": user_id,
                "created_at": now,
            }
        )
        owner = common_pb2.Owner(user_id=user_id, org_id=org_id)
        created = await self._create_key(owner, "default", "live", ["*"], now + self._secrets.initial_key_ttl)
        return auth_pb2.RegisterResponse(user_id=user_id, org_id=org_id, api_key=created)

    async def issue_token(self, username: str, password: str, scopes: list[str]) -> auth_pb2.TokenResponse:
        try:
            email = credentials.normalise_email(username)
        except InvalidArgument:
            email = ""
        user = await self._repo.users.find_one({"email": email}) if email else None
        stored = user["password_hash"] if user else None
        if not await self._passwords.verify(stored, password) or user is None:
            raise Unauthenticated("incorrect email or password")
        token = self._tokens.issue(user["_id"], user["org_id"], check_scopes(scopes))
        return auth_pb2.TokenResponse(
            access_token=token,
            token_type="bearer",  # noqa: S106 - the OAuth2 token type, not a secret
            expires_in=self._tokens.ttl_seconds,
        )

    def jwks(self) -> auth_pb2.GetJwksResponse:
        return auth_pb2.GetJwksResponse(
            keys=[auth_pb2.Jwk(**jwk) for jwk in self._tokens.jwks()],
            issuer=self._tokens.issuer,
            audience=self._tokens.audience,
        )

    async def verify_key(self, api_key: str) -> auth_pb2.VerifyApiKeyResponse:
        if credentials.key_mode(api_key) is None:
            raise Unauthenticated("API key is missing or invalid")
        doc = await self._repo.key_by_hash(credentials.hash_api_key(api_key, self._secrets.pepper))
        now = utcnow()
        expires = read_time(doc.get("expires_at")) if doc else None
        if doc is None or doc["revoked"] or (expires is not None and expires <= now):
            raise Unauthenticated("API key is missing or invalid")
        last_used = read_time(doc.get("last_used_at"))
        if last_used is None or now - last_used > TOUCH_EVERY:
            await self._repo.touch_key(doc["_id"])
        return await self._principal(
            doc["user_id"], doc["org_id"], doc["mode"], doc["_id"], doc["scopes"], expires
        )

    async def _principal(
        self,
        user_id: str,
        org_id: str,
        mode: str,
        key_id: str,
        scopes: list[str],
        expires: datetime | None,
    ) -> auth_pb2.VerifyApiKeyResponse:
        limits = await self._repo.effective_limits(org_id)
        if limits is None:
            raise Unauthenticated("API key is missing or invalid")
        owner = common_pb2.Owner(
            user_id=user_id, org_id=org_id, mode=MODES[mode], key_id=key_id, scopes=scopes
        )
        return auth_pb2.VerifyApiKeyResponse(
            owner=owner, plan=plan_message(limits), expires_at=to_timestamp(expires)
        )

    async def create_key(self, request: auth_pb2.CreateApiKeyRequest) -> auth_pb2.CreatedApiKey:
        owner = request.owner
        mode = "test" if request.mode == common_pb2.KEY_MODE_TEST else "live"
        expires = (
            request.expires_at.ToDatetime(tzinfo=utcnow().tzinfo) if request.HasField("expires_at") else None
        )
        if expires is not None and expires <= utcnow():
            raise InvalidArgument("expires_at must be in the future", field="expires_at")
        scopes = check_scopes(list(request.scopes))
        check_may_manage(await self._caller(owner), "create", mode, scopes)
        if len(await self._repo.keys_of_org(owner.org_id, include_revoked=False)) >= MAX_KEYS_PER_ORG:
            raise InvalidArgument(f"at most {MAX_KEYS_PER_ORG} active keys", field="keys")
        return await self._create_key(owner, request.name.strip()[:100], mode, scopes, expires)

    async def _caller(self, owner: common_pb2.Owner) -> Caller | None:
        """The key the request is made with, read from the store (None for a JWT session)."""
        if not owner.key_id:
            return None
        doc = await self._repo.key_of_org(owner.org_id, owner.key_id)
        if not is_usable(doc, utcnow()):
            raise Unauthenticated("API key is missing or invalid")
        return Caller.of(doc)

    async def _create_key(
        self,
        owner: common_pb2.Owner,
        name: str,
        mode: str,
        scopes: list[str],
        expires: datetime | None,
    ) -> auth_pb2.CreatedApiKey:
        secret = credentials.new_api_key(mode)
        doc = {
            "_id": new_id("key"),
            "key_hash": credentials.hash_api_key(secret, self._secrets.pepper),
            "prefix": secret[: credentials.PREFIX_LENGTH],
            "name": name,
            "mode": mode,
            "scopes": scopes,
            "user_id": owner.user_id,
            "org_id": owner.org_id,
            "created_at": utcnow(),
            "expires_at": expires,
            "revoked": False,
        }
        await self._repo.keys.insert_one(doc)
        return auth_pb2.CreatedApiKey(key=key_message(doc), secret=secret)

    async def list_keys(self, owner: common_pb2.Owner, include_revoked: bool) -> list[auth_pb2.ApiKey]:
        return [key_message(d) for d in await self._repo.keys_of_org(owner.org_id, include_revoked)]

    async def revoke_key(self, owner: common_pb2.Owner, key_id: str) -> auth_pb2.ApiKey:
        existing = await self._repo.key_of_org(owner.org_id, key_id)
        if existing is None:
            raise KeyNotFound("API key not found", key_id=key_id)
        check_may_manage(await self._caller(owner), "revoke", existing["mode"], existing["scopes"], key_id)
        return await self._revoke(owner, key_id, existing)

    async def _revoke(self, owner: common_pb2.Owner, key_id: str, existing: Document) -> auth_pb2.ApiKey:
        doc = await self._repo.revoke_key(owner.org_id, key_id)
        if doc is None:
            return key_message(existing)  # already revoked: nothing more to do
        event = auth_pb2.ApiKeyRevoked(
            event_id=new_id("evt"),
            key_id=key_id,
            org_id=owner.org_id,
            occurred_at=to_timestamp(utcnow()),
        )
        await self._outbox.add(
            subjects.key_revoked(key_id),
            event.SerializeToString(),
            event.event_id,
            current_request_id(),
        )
        return key_message(doc)

    async def rotate_key(self, owner: common_pb2.Owner, key_id: str) -> auth_pb2.CreatedApiKey:
        old = await self._repo.key_of_org(owner.org_id, key_id)
        if old is None or old["revoked"]:
            raise KeyNotFound("API key not found", key_id=key_id)
        check_may_manage(await self._caller(owner), "rotate", old["mode"], old["scopes"])
        created = await self._create_key(
            owner, old.get("name", ""), old["mode"], old["scopes"], read_time(old.get("expires_at"))
        )
        await self._revoke(owner, key_id, old)
        return created

    async def profile(self, owner: common_pb2.Owner) -> auth_pb2.Profile:
        user = await self._repo.users.find_one({"_id": owner.user_id, "org_id": owner.org_id})
        org = await self._repo.orgs.find_one({"_id": owner.org_id})
        limits = await self._repo.effective_limits(owner.org_id)
        if user is None or org is None or limits is None:
            raise NotFound("user not found")
        return auth_pb2.Profile(
            user_id=user["_id"],
            email=user["email"],
            org_id=org["_id"],
            organization_name=org["name"],
            plan=plan_message(limits),
            created_at=to_timestamp(read_time(user["created_at"])),
            mode=owner.mode,
            key_id=owner.key_id,
        )

    async def org_plan(self, org_id: str) -> auth_pb2.Plan:
        limits = await self._repo.effective_limits(org_id)
        if limits is None:
            raise NotFound("organisation not found")
        return plan_message(limits)

    async def issue_ticket(self, owner: common_pb2.Owner, scope: str) -> auth_pb2.StreamTicket:
        ticket = "st_" + secrets.token_urlsafe(32)
        await self._repo.tickets.insert_one(
            {
                "_id": hashlib.sha256(ticket.encode()).hexdigest(),
                "user_id": owner.user_id,
                "org_id": owner.org_id,
                "mode": "test" if owner.mode == common_pb2.KEY_MODE_TEST else "live",
                "key_id": owner.key_id,
                "scopes": list(owner.scopes) or ["*"],
                "scope": scope,
                "expires": (utcnow() + self._secrets.ticket_ttl).timestamp(),
            }
        )
        return auth_pb2.StreamTicket(ticket=ticket, expires_in=int(self._secrets.ticket_ttl.total_seconds()))

    async def redeem_ticket(self, ticket: str) -> auth_pb2.VerifyApiKeyResponse:
        doc = await self._repo.take_ticket(hashlib.sha256(ticket.encode()).hexdigest())
        if doc is None or doc["expires"] < utcnow().timestamp():
            raise Unauthenticated("stream ticket is invalid, used or expired")
        expires = None
        if doc["key_id"]:  # the issuing key must still be valid: revoked or expired since, refused
            key = await self._repo.key_of_org(doc["org_id"], doc["key_id"])
            if not is_usable(key, utcnow()):
                raise Unauthenticated("stream ticket is invalid, used or expired")
            expires = read_time(key.get("expires_at"))
        principal = await self._principal(
            doc["user_id"], doc["org_id"], doc["mode"], doc["key_id"], doc["scopes"], expires
        )
        principal.ticket_scope = doc.get("scope", "")
        return principal
