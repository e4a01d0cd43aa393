"""Where feed data is stored: the only module that knows the feed collections' fields.

Every collection is versioned by generation (nx-27017 has no multi-document transactions).
A record version is visible at generation ``g`` when ``gen_from <= g < gen_to``. An import
takes the lock, writes its versions at the staging generation ``active + 1`` (closing the
versions it replaces with ``gen_to = staging``, which readers of ``active`` still see), then
switches with one update of the pointer document ``{_id: "active", generation}``. Readers
read the pointer once and then only that generation, so they see the old data or the new,
never half. Versions left by an interrupted import are removed by the next one.
"""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from pymongo import ASCENDING, InsertOne, ReplaceOne, UpdateMany
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from rampart.lib.store import Document, read_time
from rampart_threat.feeds.domain import FeedImportBusy, FeedKind, ImportReport, StoredCve

OPEN = 1 << 62  # gen_to of a version no generation has replaced yet
LOCK_SECONDS = 600.0
# Which collection holds each kind, and the field holding its payload.
COLLECTION = {
    FeedKind.NVD: "feed_cves",
    FeedKind.CVE5: "feed_cves",
    FeedKind.KEV: "feed_kev",
    FeedKind.EPSS: "feed_epss",
}
RECORD_FIELDS = {FeedKind.NVD: "nvd", FeedKind.CVE5: "cve5"}


def visible(generation: int) -> Document:
    return {"gen_from": {"$lte": generation}, "gen_to": {"$gt": generation}}


@dataclass(frozen=True)
class Staged:
    """One source's value for one CVE, about to be written at the staging generation."""

    cve_id: str
    payload: dict[str, Any]
    fingerprint: str  # lastModified for NVD/CVE 5; what makes two KEV/EPSS values equal otherwise
    import_id: str


@dataclass(frozen=True)
class SourceState:
    snapshot: datetime | None
    records: int
    import_id: str
    imported_at: datetime | None


def _dumps(value: Mapping[str, Any]) -> str:
    # NVD and CVE 5 records are kept as JSON text: exactly as published, whatever their keys.
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class MongoFeedRepository:
    """Feed records in ``feed_cves``/``feed_kev``/``feed_epss``; state in ``feed_state``."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._db = db
        self._state = db["feed_state"]
        self._imports = db["feed_imports"]
        self._holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    def _col(self, kind: FeedKind) -> AsyncCollection[Document]:
        return self._db[COLLECTION[kind]]

    async def create_indexes(self) -> None:
        for name in sorted(set(COLLECTION.values())):
            await self._db[name].create_index([("cve_id", ASCENDING), ("gen_from", ASCENDING)])
            await self._db[name].create_index("gen_to")
            await self._db[name].create_index("gen_from")

    # ---- reading ---------------------------------------------------------------------------
    async def active(self) -> int:
        """The active generation; 0 while nothing was ever imported."""
        pointer = await self._state.find_one({"_id": "active"})
        return int(pointer["generation"]) if pointer else 0

    async def sources(self) -> dict[FeedKind, SourceState]:
        pointer = await self._state.find_one({"_id": "active"}) or {}
        states = {}
        for kind, entry in (pointer.get("sources") or {}).items():
            states[FeedKind(kind)] = SourceState(
                read_time(entry.get("snapshot")),
                int(entry.get("records", 0)),
                str(entry.get("import_id", "")),
                read_time(entry.get("imported_at")),
            )
        return states

    async def get(self, cve_id: str, generation: int | None = None) -> StoredCve | None:
        generation = await self.active() if generation is None else generation
        found = {}
        for kind in (FeedKind.NVD, FeedKind.KEV, FeedKind.EPSS):
            doc = await self._col(kind).find_one({"cve_id": cve_id, **visible(generation)})
            if doc is not None:
                found[kind] = doc
        if not found:
            return None
        return _stored(cve_id, found.get(FeedKind.NVD), found.get(FeedKind.KEV), found.get(FeedKind.EPSS))

    async def many(self, cve_ids: list[str], generation: int | None = None) -> dict[str, StoredCve]:
        """The CVEs among ``cve_ids`` a generation holds, by id (one query per collection)."""
        generation = await self.active() if generation is None else generation
        found: dict[FeedKind, dict[str, Document]] = {}
        for kind in (FeedKind.NVD, FeedKind.KEV, FeedKind.EPSS):
            query = {"cve_id": {"$in": cve_ids}, **visible(generation)}
            found[kind] = {d["cve_id"]: d async for d in self._col(kind).find(query)}
        ids = found[FeedKind.NVD].keys() | found[FeedKind.KEV].keys() | found[FeedKind.EPSS].keys()
        return {
            cve_id: _stored(
                cve_id,
                found[FeedKind.NVD].get(cve_id),
                found[FeedKind.KEV].get(cve_id),
                found[FeedKind.EPSS].get(cve_id),
            )
            for cve_id in ids
        }

    async def all(self, generation: int | None = None) -> AsyncIterator[StoredCve]:
        """Every CVE of a generation (KEV and EPSS joined in), in CVE id order."""
        generation = await self.active() if generation is None else generation
        kev = {d["cve_id"]: d async for d in self._col(FeedKind.KEV).find(visible(generation))}
        epss = {d["cve_id"]: d async for d in self._col(FeedKind.EPSS).find(visible(generation))}
        async for doc in self._col(FeedKind.NVD).find(visible(generation)).sort("cve_id", ASCENDING):
            yield _stored(doc["cve_id"], doc, kev.get(doc["cve_id"]), epss.get(doc["cve_id"]))

    async def count(self, kind: FeedKind, generation: int) -> int:
        """How many CVEs hold a value of ``kind`` at ``generation``."""
        query = visible(generation)
        if kind in RECORD_FIELDS:
            query[f"has.{RECORD_FIELDS[kind]}"] = 1
        return await self._col(kind).count_documents(query)

    # ---- the import lock -------------------------------------------------------------------
    async def lock(self) -> None:
        """Take the import lock, or raise FeedImportBusy while a live import holds it."""
        mine = {
            "holder": self._holder,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "expires": time.time() + LOCK_SECONDS,
        }
        try:
            await self._state.insert_one({"_id": "lock", **mine})
            return
        except DuplicateKeyError:
            held = await self._state.find_one({"_id": "lock"}) or {}
        if held.get("holder") != self._holder and not _abandoned(held):
            raise FeedImportBusy("another feed import is running", holder=str(held.get("holder", "")))
        taken = await self._state.update_one({"_id": "lock", "holder": held.get("holder")}, {"$set": mine})
        if taken.modified_count != 1:
            raise FeedImportBusy("another feed import took the lock first")

    async def renew(self) -> None:
        await self._state.update_one(
            {"_id": "lock", "holder": self._holder}, {"$set": {"expires": time.time() + LOCK_SECONDS}}
        )

    async def unlock(self) -> None:
        await self._state.delete_one({"_id": "lock", "holder": self._holder})

    async def discard_staging(self, active: int) -> None:
        """Undo whatever an interrupted import wrote above the active generation."""
        for name in sorted(set(COLLECTION.values())):
            await self._db[name].delete_many({"gen_from": {"$gt": active}})
            await self._db[name].update_many(
                {"gen_to": {"$gt": active, "$lt": OPEN}}, {"$set": {"gen_to": OPEN}}
            )

    # ---- writing at the staging generation -------------------------------------------------
    async def fingerprints(self, kind: FeedKind, cve_ids: list[str], staging: int) -> dict[str, str]:
        """What is stored for each id as the staging generation sees it ('' when absent)."""
        field = f"modified.{RECORD_FIELDS[kind]}" if kind in RECORD_FIELDS else "fingerprint"
        found: dict[str, str] = {}
        query = {"cve_id": {"$in": cve_ids}, **visible(staging)}
        projection = {"cve_id": 1, field.split(".", 1)[0]: 1}  # nx-27017 ignores dotted projections
        async for doc in self._col(kind).find(query, projection):
            found[doc["cve_id"]] = _get(doc, field)
        return found

    async def write(self, kind: FeedKind, records: list[Staged], staging: int) -> None:
        """New versions at ``staging``; replaced versions end there (other sources carried over)."""
        if not records:
            return
        col = self._col(kind)
        ids = [r.cve_id for r in records]
        current = {d["cve_id"]: d async for d in col.find({"cve_id": {"$in": ids}, **visible(staging)})}
        operations: list[Any] = [
            UpdateMany(
                {
                    "cve_id": {"$in": [i for i in ids if i in current and current[i]["gen_from"] < staging]},
                    **visible(staging),
                },
                {"$set": {"gen_to": staging}},
            )
        ]
        for record in records:
            doc = _version(kind, record, current.get(record.cve_id), staging)
            if record.cve_id in current and current[record.cve_id]["gen_from"] == staging:
                operations.append(ReplaceOne({"_id": doc["_id"]}, doc))
            else:
                operations.append(InsertOne(doc))
        await col.bulk_write(operations, ordered=True)

    async def visible_ids(self, kind: FeedKind, generation: int) -> AsyncIterator[str]:
        async for doc in self._col(kind).find(visible(generation), {"cve_id": 1}):
            yield str(doc["cve_id"])

    async def retire(self, kind: FeedKind, cve_ids: list[str], staging: int) -> None:
        """End the versions of ids no longer in a full-snapshot source (KEV, EPSS)."""
        await self._col(kind).update_many(
            {"cve_id": {"$in": cve_ids}, "gen_from": {"$lt": staging}, "gen_to": OPEN},
            {"$set": {"gen_to": staging}},
        )

    async def activate(self, staging: int, states: Mapping[FeedKind, SourceState]) -> None:
        """The switch: one update of the pointer document. Then drop versions nobody reads."""
        changes: Document = {"generation": staging}
        for kind, state in states.items():
            changes[f"sources.{kind.value}"] = {
                "snapshot": state.snapshot,
                "records": state.records,
                "import_id": state.import_id,
                "imported_at": state.imported_at,
            }
        await self._state.update_one({"_id": "active"}, {"$set": changes}, upsert=True)
        for name in sorted(set(COLLECTION.values())):  # kept: the previous generation, for readers in flight
            await self._db[name].delete_many({"gen_to": {"$lt": staging}})

    async def record_import(self, report: ImportReport) -> None:
        await self._imports.insert_one(
            {
                "_id": report.import_id,
                "kind": report.kind.value,
                "path": report.path,
                "sha256": report.sha256,
                "snapshot": report.snapshot,
                "seconds": report.seconds,
                "added": report.counts.added,
                "updated": report.counts.updated,
                "unchanged": report.counts.unchanged,
                "skipped": report.counts.skipped,
                "removed": report.counts.removed,
                "generation": report.generation,
                "started_at": report.started_at,
                "details": report.details,
            }
        )


def _abandoned(held: Document) -> bool:
    if float(held.get("expires", 0)) < time.time():
        return True
    if held.get("host") != socket.gethostname():
        return False
    try:
        os.kill(int(held.get("pid", 0)), 0)
    except ProcessLookupError:
        return True  # its process is gone (killed): the lock is free
    except (PermissionError, ValueError):
        return False
    return False


def _get(doc: Document, dotted: str) -> str:
    value: Any = doc
    for part in dotted.split("."):
        value = value.get(part, "") if isinstance(value, dict) else ""
    return str(value)


def _version(kind: FeedKind, record: Staged, previous: Document | None, staging: int) -> Document:
    doc: Document = {
        "_id": f"{record.cve_id}@{staging}",
        "cve_id": record.cve_id,
        "gen_from": staging,
        "gen_to": OPEN,
    }
    if kind in RECORD_FIELDS:
        carried = previous or {}
        field = RECORD_FIELDS[kind]
        doc["nvd"], doc["cve5"] = carried.get("nvd", ""), carried.get("cve5", "")
        doc["modified"] = {**carried.get("modified", {}), field: record.fingerprint}
        doc["sources"] = {**carried.get("sources", {}), field: record.import_id}
        doc[field] = _dumps(record.payload)
        doc["has"] = {name: int(bool(doc[name])) for name in ("nvd", "cve5")}  # counted per source
    else:
        doc.update(
            {"entry": dict(record.payload), "fingerprint": record.fingerprint, "import_id": record.import_id}
        )
    return doc


def _stored(cve_id: str, cve: Document | None, kev: Document | None, epss: Document | None) -> StoredCve:
    cve = cve or {}
    modified = {k: str(v) for k, v in (cve.get("modified") or {}).items() if v}
    sources = {k: str(v) for k, v in (cve.get("sources") or {}).items() if v}
    for name, doc in (("kev", kev), ("epss", epss)):
        if doc is not None:
            sources[name] = str(doc.get("import_id", ""))
            modified[name] = str(doc.get("fingerprint", "")).split("|", 1)[0]
    return StoredCve(
        cve_id=cve_id,
        nvd=json.loads(cve["nvd"]) if cve.get("nvd") else None,
        cve5=json.loads(cve["cve5"]) if cve.get("cve5") else None,
        kev=dict(kev["entry"]) if kev else None,
        epss=dict(epss["entry"]) if epss else None,
        last_modified=modified,
        sources=sources,
    )


class FeedStore(Protocol):
    """What the feed use cases need from storage."""

    async def active(self) -> int: ...

    async def sources(self) -> dict[FeedKind, SourceState]: ...

    async def lock(self) -> None: ...

    async def renew(self) -> None: ...

    async def unlock(self) -> None: ...

    async def discard_staging(self, active: int) -> None: ...

    async def count(self, kind: FeedKind, generation: int) -> int: ...

    async def fingerprints(self, kind: FeedKind, cve_ids: list[str], staging: int) -> dict[str, str]: ...

    async def write(self, kind: FeedKind, records: list[Staged], staging: int) -> None: ...

    def visible_ids(self, kind: FeedKind, generation: int) -> AsyncIterator[str]: ...

    async def retire(self, kind: FeedKind, cve_ids: list[str], staging: int) -> None: ...

    async def activate(self, staging: int, states: Mapping[FeedKind, SourceState]) -> None: ...

    async def record_import(self, report: ImportReport) -> None: ...
