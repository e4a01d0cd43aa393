"""Mongo adapters for users, organisations, plans, API keys and stream tickets.

The only place that knows the stored field names: each store takes and returns domain types.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from rampart.lib.store import Document, read_time
from rampart_auth.domain import (
    PLAN_DEFAULTS,
    PLAN_FIELDS,
    ApiKey,
    EmailTaken,
    KeyMode,
    Organisation,
    Plan,
    PlanLimits,
    StreamTicket,
    User,
)
from rampart_auth.plans import validate_plan

DEFAULT_PLANS = Path(__file__).with_name("plans.json")


def _time(doc: Document, name: str) -> datetime:
    value = read_time(doc[name])
    assert value is not None, f"{name} is required"
    return value


class AccountRepository:
    """Users (unique by email), organisations and plan limits."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.users = db["users"]
        self.orgs = db["organizations"]
        self.plans = db["plans"]

    async def create_indexes(self) -> None:
        await self.users.create_index("email", unique=True)

    async def seed_plans(self, path: Path | None) -> None:
        """Insert plan limits that are not in the store yet; never overwrite an operator's edit.

        A field the stored plan lacks (a new limit) is added from the file. Every plan, in the
        file and in the store, must pass ``validate_plan``: a bad one stops auth-service here.
        """
        plans: dict[str, dict[str, Any]] = json.loads((path or DEFAULT_PLANS).read_text())
        for name, limits in plans.items():
            values = validate_plan(name, limits)
            stored = await self.plans.find_one({"_id": name})
            if stored is None:
                await self.plans.update_one({"_id": name}, {"$setOnInsert": values}, upsert=True)
                continue
            missing = {field: value for field, value in values.items() if field not in stored}
            if missing:
                await self.plans.update_one({"_id": name}, {"$set": missing})
        async for stored in self.plans.find({}):
            validate_plan(str(stored["_id"]), stored)

    async def add_user(self, user: User) -> None:
        doc = {
            "_id": user.user_id,
            "email": user.email,
            "org_id": user.org_id,
            "created_at": user.created_at,
            "password_hash": user.password_hash,
        }
        try:
            await self.users.insert_one(doc)
        except DuplicateKeyError:
            raise EmailTaken("an account with this email already exists", field="email") from None

    async def user_by_email(self, email: str) -> User | None:
        return _user(await self.users.find_one({"email": email}))

    async def user_of_org(self, user_id: str, org_id: str) -> User | None:
        return _user(await self.users.find_one({"_id": user_id, "org_id": org_id}))

    async def add_organisation(self, org: Organisation) -> None:
        doc: Document = {
            "_id": org.org_id,
            "name": org.name,
            "plan": org.plan,
            "owner_user_id": org.owner_user_id,
            "created_at": org.created_at,
        }
        if org.limit_overrides:
            doc["limits"] = dict(org.limit_overrides)
        await self.orgs.insert_one(doc)

    async def organisation(self, org_id: str) -> Organisation | None:
        doc = await self.orgs.find_one({"_id": org_id})
        if doc is None:
            return None
        overrides = {k: int(v) for k, v in (doc.get("limits") or {}).items() if k in PLAN_FIELDS}
        return Organisation(
            org_id=doc["_id"],
            name=doc["name"],
            plan=doc["plan"],
            owner_user_id=doc.get("owner_user_id", ""),
            created_at=_time(doc, "created_at"),
            limit_overrides=overrides,
        )

    async def plan(self, name: str) -> Plan | None:
        doc = await self.plans.find_one({"_id": name})
        if doc is None:
            return None
        limits = {field: int(doc.get(field, PLAN_DEFAULTS.get(field, 0))) for field in PLAN_FIELDS}
        return Plan(name, PlanLimits(**limits))


def _user(doc: Document | None) -> User | None:
    if doc is None:
        return None
    return User(doc["_id"], doc["email"], doc["org_id"], doc["password_hash"], _time(doc, "created_at"))


class KeyRepository:
    """API keys, found by the hash of their secret or by id within an organisation."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.keys = db["api_keys"]

    async def create_indexes(self) -> None:
        await self.keys.create_index("key_hash", unique=True)
        await self.keys.create_index([("org_id", ASCENDING), ("created_at", ASCENDING)])

    async def add(self, key: ApiKey) -> None:
        await self.keys.insert_one(
            {
                "_id": key.key_id,
                "key_hash": key.key_hash,
                "prefix": key.prefix,
                "name": key.name,
                "mode": key.mode.value,
                "scopes": list(key.scopes),
                "user_id": key.user_id,
                "org_id": key.org_id,
                "created_at": key.created_at,
                "expires_at": key.expires_at,
                "revoked": key.revoked,
            }
        )

    async def by_hash(self, key_hash: str) -> ApiKey | None:
        return _key(await self.keys.find_one({"key_hash": key_hash}))

    async def of_org(self, org_id: str, key_id: str) -> ApiKey | None:
        return _key(await self.keys.find_one({"_id": key_id, "org_id": org_id}))

    async def list_of_org(self, org_id: str, include_revoked: bool) -> list[ApiKey]:
        query: dict[str, Any] = {"org_id": org_id}
        if not include_revoked:
            query["revoked"] = False
        return [_key_of(doc) async for doc in self.keys.find(query).sort("created_at", ASCENDING)]

    async def revoke(self, key: ApiKey) -> ApiKey | None:
        """Revoke once; None when there was no live key to revoke."""
        return _key(
            await self.keys.find_one_and_update(
                {"_id": key.key_id, "org_id": key.org_id, "revoked": False},
                {"$set": {"revoked": True, "revoked_at": key.revoked_at}},
                return_document=ReturnDocument.AFTER,
            )
        )

    async def touch(self, key_id: str, now: datetime) -> None:
        await self.keys.update_one({"_id": key_id}, {"$set": {"last_used_at": now}})


def _key(doc: Document | None) -> ApiKey | None:
    return None if doc is None else _key_of(doc)


def _key_of(doc: Document) -> ApiKey:
    return ApiKey(
        key_id=doc["_id"],
        org_id=doc["org_id"],
        user_id=doc["user_id"],
        name=doc.get("name", ""),
        mode=KeyMode(doc["mode"]),
        scopes=tuple(doc["scopes"]),
        prefix=doc["prefix"],
        key_hash=doc["key_hash"],
        created_at=_time(doc, "created_at"),
        expires_at=read_time(doc.get("expires_at")),
        last_used_at=read_time(doc.get("last_used_at")),
        revoked=bool(doc["revoked"]),
        revoked_at=read_time(doc.get("revoked_at")),
    )


class TicketRepository:
    """Stream tickets under the hash of the ticket; taking one deletes it."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.tickets = db["stream_tickets"]

    async def add(self, ticket: StreamTicket) -> None:
        await self.tickets.insert_one(
            {
                "_id": ticket.ticket_hash,
                "user_id": ticket.user_id,
                "org_id": ticket.org_id,
                "mode": ticket.mode.value,
                "key_id": ticket.key_id,
                "scopes": list(ticket.scopes),
                "scope": ticket.scope,
                "expires": ticket.expires_at.timestamp(),
            }
        )

    async def take(self, ticket_hash: str) -> StreamTicket | None:
        """Delete-and-return: a ticket can be redeemed exactly once."""
        doc = await self.tickets.find_one_and_delete({"_id": ticket_hash})
        if doc is None:
            return None
        return StreamTicket(
            ticket_hash=doc["_id"],
            user_id=doc["user_id"],
            org_id=doc["org_id"],
            mode=KeyMode(doc["mode"]),
            key_id=doc["key_id"],
            scopes=tuple(doc["scopes"]),
            scope=doc.get("scope", ""),
            expires_at=datetime.fromtimestamp(doc["expires"], UTC),
        )
