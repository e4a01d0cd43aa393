"""Mongo adapter for users, organisations, plans, API keys and stream tickets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

from rampart.lib.ids import utcnow
from rampart.lib.store import Document
from rampart_auth.plans import validate_plan, with_overrides

DEFAULT_PLANS = Path(__file__).with_name("plans.json")


class AuthRepository:
    """Every query that names a key or a ticket is scoped by organisation or by hash."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.users = db["users"]
        self.orgs = db["organizations"]
        self.plans = db["plans"]
        self.keys = db["api_keys"]
        self.tickets = db["stream_tickets"]

    async def create_indexes(self) -> None:
        await self.users.create_index("email", unique=True)
        await self.keys.create_index("key_hash", unique=True)
        await self.keys.create_index([("org_id", ASCENDING), ("created_at", ASCENDING)])

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

    async def effective_limits(self, org_id: str) -> dict[str, Any] | None:
        org = await self.orgs.find_one({"_id": org_id})
        if org is None:
            return None
        plan = await self.plans.find_one({"_id": org["plan"]}) or {}
        limits = with_overrides(org["plan"], plan, org.get("limits") or {})
        return {"name": org["plan"], **limits}

    async def key_by_hash(self, key_hash: str) -> Document | None:
        return await self.keys.find_one({"key_hash": key_hash})

    async def key_of_org(self, org_id: str, key_id: str) -> Document | None:
        return await self.keys.find_one({"_id": key_id, "org_id": org_id})

    async def keys_of_org(self, org_id: str, include_revoked: bool) -> list[Document]:
        query: dict[str, Any] = {"org_id": org_id}
        if not include_revoked:
            query["revoked"] = False
        return [doc async for doc in self.keys.find(query).sort("created_at", ASCENDING)]

    async def revoke_key(self, org_id: str, key_id: str) -> Document | None:
        """Revoke once; None when there was no live key to revoke."""
        return await self.keys.find_one_and_update(
            {"_id": key_id, "org_id": org_id, "revoked": False},
            {"$set": {"revoked": True, "revoked_at": utcnow()}},
            return_document=ReturnDocument.AFTER,
        )

    async def touch_key(self, key_id: str) -> None:
        await self.keys.update_one({"_id": key_id}, {"$set": {"last_used_at": utcnow()}})

    async def take_ticket(self, ticket_hash: str) -> Document | None:
        """Delete-and-return: a ticket can be redeemed exactly once."""
        return await self.tickets.find_one_and_delete({"_id": ticket_hash})
