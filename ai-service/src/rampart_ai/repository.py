"""Where ai-service stores its documents: the only module that knows their fields.

``ai_usage``: one document per organisation per UTC day (``_id`` "<org>|<day>") with
``requests`` and ``tokens``; claims are one conditional ``update_one`` with upsert, a
duplicate key meaning the limit is reached (docs/store.md: no transactions needed).
``ai_history``: the callers' questions and answers, read by owner only; times range-queried
through the numeric ``sort_key`` (nx-27017 compares no dates).
"""

from __future__ import annotations

from typing import Any

from pymongo import DESCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from rampart.lib.store import Document, read_time
from rampart_ai.accounting import Entry, Owner
from rampart_ai.domain import Citation


class AiRepository:
    """ai-service's collections in its own database: the daily ledger and the history."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._usage = db["ai_usage"]
        self._history = db["ai_history"]

    async def create_indexes(self) -> None:
        await self._history.create_index(
            [("org_id", 1), ("user_id", 1), ("live", 1), ("sort_key", DESCENDING)]
        )
        await self._history.create_index("sort_key")

    # ---- the ledger ---------------------------------------------------------------------------

    async def claim_request(self, org_id: str, day: str, limit: int) -> bool:
        query: dict[str, Any] = {"_id": f"{org_id}|{day}"}
        if limit > 0:
            query["requests"] = {"$lt": limit}
        try:
            await self._usage.update_one(
                query, {"$inc": {"requests": 1}, "$setOnInsert": {"tokens": 0}}, upsert=True
            )
        except DuplicateKeyError:
            return False
        return True

    async def release_request(self, org_id: str, day: str) -> None:
        await self._usage.update_one(
            {"_id": f"{org_id}|{day}", "requests": {"$gt": 0}}, {"$inc": {"requests": -1}}
        )

    async def claim_tokens(self, org_id: str, day: str, amount: int, limit: int) -> bool:
        query: dict[str, Any] = {"_id": f"{org_id}|{day}"}
        if limit > 0:
            if amount > limit:
                return False
            query["tokens"] = {"$lte": limit - amount}
        try:
            await self._usage.update_one(
                query, {"$inc": {"tokens": amount}, "$setOnInsert": {"requests": 0}}, upsert=True
            )
        except DuplicateKeyError:
            return False
        return True

    async def add_tokens(self, org_id: str, day: str, amount: int) -> None:
        await self._usage.update_one({"_id": f"{org_id}|{day}"}, {"$inc": {"tokens": amount}})

    async def used(self, org_id: str, day: str) -> tuple[int, int]:
        doc = await self._usage.find_one({"_id": f"{org_id}|{day}"})
        if doc is None:
            return 0, 0
        return max(0, int(doc.get("requests", 0))), max(0, int(doc.get("tokens", 0)))

    # ---- the history --------------------------------------------------------------------------

    async def add(self, entry: Entry) -> None:
        await self._history.insert_one(
            {
                "_id": entry.history_id,
                "org_id": entry.owner.org_id,
                "user_id": entry.owner.user_id,
                "live": entry.owner.live,
                "key_id": entry.key_id,
                "kind": entry.kind,
                "question": entry.question,
                "answer": entry.answer,
                "citations": [_citation_doc(c) for c in entry.citations],
                "provider": entry.provider,
                "tokens": entry.tokens,
                "scan_id": entry.scan_id,
                "created_at": entry.created_at,
                "sort_key": entry.sort_key,
            }
        )

    @staticmethod
    def _mine(owner: Owner) -> dict[str, Any]:
        return {"org_id": owner.org_id, "user_id": owner.user_id, "live": owner.live}

    async def page(self, owner: Owner, since_key: int, before_key: int | None, limit: int) -> list[Entry]:
        bounds: dict[str, int] = {"$gte": since_key}
        if before_key is not None:
            bounds["$lt"] = before_key
        found = self._history.find({**self._mine(owner), "sort_key": bounds})
        return [_entry(doc) async for doc in found.sort("sort_key", DESCENDING).limit(limit)]

    async def get(self, owner: Owner, history_id: str, since_key: int) -> Entry | None:
        doc = await self._history.find_one(
            {"_id": history_id, **self._mine(owner), "sort_key": {"$gte": since_key}}
        )
        return _entry(doc) if doc is not None else None

    async def count(self, owner: Owner, since_key: int) -> int:
        return await self._history.count_documents({**self._mine(owner), "sort_key": {"$gte": since_key}})

    async def sweep(self, before_key: int) -> int:
        result = await self._history.delete_many({"sort_key": {"$lt": before_key}})
        return int(result.deleted_count)


def _citation_doc(citation: Citation) -> Document:
    return {
        "kind": citation.kind,
        "ref": citation.ref,
        "excerpt": citation.excerpt,
        "scan_id": citation.scan_id,
        "host": citation.host,
        "port": citation.port,
        "protocol": citation.protocol,
    }


def _entry(doc: Document) -> Entry:
    created = read_time(doc["created_at"])
    assert created is not None
    return Entry(
        history_id=doc["_id"],
        owner=Owner(doc["org_id"], doc["user_id"], bool(doc["live"])),
        key_id=doc.get("key_id", ""),
        kind=doc["kind"],
        question=doc["question"],
        answer=doc["answer"],
        citations=tuple(
            Citation(
                c["kind"],
                c["ref"],
                c.get("excerpt", ""),
                c.get("scan_id", ""),
                c.get("host", ""),
                int(c.get("port", 0)),
                c.get("protocol", ""),
            )
            for c in doc.get("citations", [])
        ),
        provider=doc.get("provider", "offline"),
        tokens=int(doc.get("tokens", 0)),
        scan_id=doc.get("scan_id", ""),
        created_at=created,
        sort_key=int(doc["sort_key"]),
    )
