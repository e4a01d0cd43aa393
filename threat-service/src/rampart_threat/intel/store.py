"""Where imported feeds live: generations per source with an atomic switch, and organisations' lists.

Small on purpose: the vulnerability feeds' generation machinery (issue 10, ``feeds/``) had
not landed on main when this was written; this keeps the same design (write a new
generation, switch one field, drop the old) so it can be folded into it.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

from rampart.lib.store import Document, read_time
from rampart_threat.intel.model import Indicator

BATCH = 5_000


@dataclass(frozen=True)
class SourceState:
    """Provenance of a source's active generation."""

    source: str
    format: str
    generation: int
    sha256: str
    indicators: int
    skipped: int
    imported_at: datetime | None


@dataclass(frozen=True)
class ListEntry:
    """One value on an organisation's allow or deny list."""

    org_id: str
    list: str  # allow or deny
    kind: str
    value: str
    note: str = ""
    created_at: datetime | None = None

    @property
    def entry_id(self) -> str:
        """Stable for (list, kind, value): adding the same value again updates its note."""
        digest = hashlib.sha256(f"{self.list}\0{self.kind}\0{self.value}".encode()).hexdigest()
        return f"ile_{digest[:24]}"


class IntelStore(Protocol):
    async def state(self, source: str) -> SourceState | None: ...

    async def states(self) -> list[SourceState]: ...

    async def allocate(self, source: str) -> int: ...

    async def write(self, source: str, generation: int, indicators: Sequence[Indicator]) -> None: ...

    async def switch(self, state: SourceState) -> None: ...

    def active(self, state: SourceState) -> AsyncIterator[Indicator]: ...

    async def put_entry(self, entry: ListEntry) -> None: ...

    async def drop_entry(self, org_id: str, entry_id: str) -> ListEntry | None: ...

    async def entries(self, org_id: str) -> list[ListEntry]: ...


class MongoIntelStore:
    """``intel_sources`` (one document per source: its active generation and provenance),
    ``intel_indicators`` (one per indicator and generation), ``intel_lists`` (organisations')."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._sources = db["intel_sources"]
        self._indicators = db["intel_indicators"]
        self._lists = db["intel_lists"]

    async def create_indexes(self) -> None:
        await self._indicators.create_index([("source", ASCENDING), ("generation", ASCENDING)])
        await self._lists.create_index("org_id")

    async def state(self, source: str) -> SourceState | None:
        doc = await self._sources.find_one({"_id": source})
        return _state(doc) if doc is not None and doc.get("generation") else None

    async def states(self) -> list[SourceState]:
        return [_state(doc) async for doc in self._sources.find({"generation": {"$gt": 0}})]

    async def allocate(self, source: str) -> int:
        """A generation number never used before for ``source`` (a crashed import's is skipped)."""
        await self._sources.update_one({"_id": source}, {"$inc": {"allocated": 1}}, upsert=True)
        doc = await self._sources.find_one({"_id": source})
        assert doc is not None
        return int(doc["allocated"])

    async def write(self, source: str, generation: int, indicators: Sequence[Indicator]) -> None:
        for start in range(0, len(indicators), BATCH):
            docs = [
                {
                    "_id": f"{source}:{generation}:{start + n}",
                    "source": source,
                    "generation": generation,
                    "kind": found.kind,
                    "value": found.value,
                    "threat": found.threat,
                    "first_seen": found.first_seen.isoformat() if found.first_seen else "",
                }
                for n, found in enumerate(indicators[start : start + BATCH])
            ]
            await self._indicators.insert_many(docs, ordered=False)

    async def switch(self, state: SourceState) -> None:
        """Make ``state`` the source's active generation (one atomic write), then drop the others."""
        await self._sources.update_one(
            {"_id": state.source},
            {
                "$set": {
                    "format": state.format,
                    "generation": state.generation,
                    "sha256": state.sha256,
                    "indicators": state.indicators,
                    "skipped": state.skipped,
                    "imported_at": state.imported_at.isoformat() if state.imported_at else "",
                }
            },
        )
        await self._indicators.delete_many({"source": state.source, "generation": {"$ne": state.generation}})

    async def active(self, state: SourceState) -> AsyncIterator[Indicator]:
        query = {"source": state.source, "generation": state.generation}
        async for doc in self._indicators.find(query):
            yield Indicator(
                doc["kind"], doc["value"], doc.get("threat", ""), read_time(doc.get("first_seen"))
            )

    async def put_entry(self, entry: ListEntry) -> None:
        await self._lists.update_one(
            {"_id": _entry_key(entry.org_id, entry.entry_id)}, {"$set": _entry_doc(entry)}, upsert=True
        )

    async def drop_entry(self, org_id: str, entry_id: str) -> ListEntry | None:
        key = {"_id": _entry_key(org_id, entry_id), "org_id": org_id}
        doc = await self._lists.find_one(key)
        if doc is None or (await self._lists.delete_one(key)).deleted_count != 1:
            return None
        return _entry(doc)

    async def entries(self, org_id: str) -> list[ListEntry]:
        return [_entry(doc) async for doc in self._lists.find({"org_id": org_id})]


class InMemoryIntelStore:
    """The store in dicts, for unit tests of the use cases and the RPCs."""

    def __init__(self) -> None:
        self._states: dict[str, SourceState] = {}
        self._allocated: dict[str, int] = {}
        self._generations: dict[tuple[str, int], list[Indicator]] = {}
        self._lists: dict[tuple[str, str], ListEntry] = {}

    async def state(self, source: str) -> SourceState | None:
        return self._states.get(source)

    async def states(self) -> list[SourceState]:
        return list(self._states.values())

    async def allocate(self, source: str) -> int:
        self._allocated[source] = self._allocated.get(source, 0) + 1
        return self._allocated[source]

    async def write(self, source: str, generation: int, indicators: Sequence[Indicator]) -> None:
        self._generations.setdefault((source, generation), []).extend(indicators)

    async def switch(self, state: SourceState) -> None:
        self._states[state.source] = state
        for key in [k for k in self._generations if k[0] == state.source and k[1] != state.generation]:
            del self._generations[key]

    async def active(self, state: SourceState) -> AsyncIterator[Indicator]:
        for found in self._generations.get((state.source, state.generation), []):
            yield found

    async def put_entry(self, entry: ListEntry) -> None:
        self._lists[(entry.org_id, entry.entry_id)] = entry

    async def drop_entry(self, org_id: str, entry_id: str) -> ListEntry | None:
        return self._lists.pop((org_id, entry_id), None)

    async def entries(self, org_id: str) -> list[ListEntry]:
        return [entry for (owner, _), entry in self._lists.items() if owner == org_id]


def _entry_key(org_id: str, entry_id: str) -> str:
    return f"{org_id}:{entry_id}"


def _entry_doc(entry: ListEntry) -> dict[str, Any]:
    return {
        "org_id": entry.org_id,
        "list": entry.list,
        "kind": entry.kind,
        "value": entry.value,
        "note": entry.note,
        "created_at": entry.created_at.isoformat() if entry.created_at else "",
    }


def _entry(doc: Document) -> ListEntry:
    return ListEntry(
        doc["org_id"],
        doc["list"],
        doc["kind"],
        doc["value"],
        doc.get("note", ""),
        read_time(doc.get("created_at")),
    )


def _state(doc: Document) -> SourceState:
    return SourceState(
        doc["_id"],
        doc.get("format", ""),
        int(doc["generation"]),
        doc.get("sha256", ""),
        int(doc.get("indicators", 0)),
        int(doc.get("skipped", 0)),
        read_time(doc.get("imported_at")),
    )
