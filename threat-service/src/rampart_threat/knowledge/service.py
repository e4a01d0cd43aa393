"""The catalog: the matcher's index built from the active feed generation, and its two questions.

The index is rebuilt when the active generation changes: after an import (``refresh``), at start, and
lazily before a query when another process switched it (one read of the generation pointer per query).
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Protocol

from rampart.lib.errors import InvalidArgument, NotFound
from rampart_threat.feeds.domain import FeedKind, SourceStatus, StoredCve
from rampart_threat.feeds.service import FeedService
from rampart_threat.knowledge.aliases import Aliases
from rampart_threat.knowledge.cpe import InvalidCpe
from rampart_threat.knowledge.cve5 import parse_cve5
from rampart_threat.knowledge.matcher import KnowledgeIndex, Match, Matcher, Query
from rampart_threat.knowledge.merge import merge
from rampart_threat.knowledge.model import CveRecord, EpssScore, SourceRef
from rampart_threat.knowledge.nvd import InvalidRecord, parse_nvd_cve
from rampart_threat.knowledge.severity import Assessment, assess, cwe_name
from rampart_threat.knowledge.sources import parse_kev_entry

STARTER_MARK = "starter:"
BATCH = 2000  # stored records parsed and indexed per step of a rebuild
RECORDS_KEPT = 1024  # full records of recent answers kept for the next (a scan's hosts repeat products)


class CatalogEntryNotFound(NotFound):
    """No CVE with this id in the active knowledge base."""

    public_code = "VULN_NOT_FOUND"


class CatalogStore(Protocol):
    """What the catalog reads from the feed store (``MongoFeedRepository`` or a fake)."""

    async def active(self) -> int: ...

    def all(self, generation: int | None = None) -> AsyncIterator[StoredCve]: ...

    async def many(self, cve_ids: list[str], generation: int | None = None) -> dict[str, StoredCve]: ...


class EmptyCatalog:
    """A feed store that holds nothing (a servicer assembled without one answers "not found")."""

    async def active(self) -> int:
        return 0

    async def all(self, generation: int | None = None) -> AsyncIterator[StoredCve]:
        nothing: tuple[StoredCve, ...] = ()
        for stored in nothing:
            yield stored

    async def many(self, cve_ids: list[str], generation: int | None = None) -> dict[str, StoredCve]:
        return {}


@dataclass(frozen=True)
class Provenance:
    """One source of a record: which import wrote it, the source's own date, and whether it is stale."""

    source: str  # "nvd" / "cve5" / "kev" / "epss"
    import_id: str
    modified: str  # the record's lastModified / dateUpdated, KEV dateAdded|…, EPSS score date
    feed: FeedKind | None  # the feed that import came from (STARTER for the shipped set)
    stale: bool


@dataclass(frozen=True)
class CatalogEntry:
    """One CVE with its assessment and where each part came from."""

    record: CveRecord
    assessment: Assessment
    cwe_names: dict[str, str]
    provenance: tuple[Provenance, ...]


@dataclass(frozen=True)
class CatalogMatch:
    match: Match
    assessment: Assessment


@dataclass(frozen=True)
class CatalogMatches:
    """What applies to one found product, and the staleness of the feeds consulted."""

    product_key: str | None  # canonical vendor:product, None when the product is unknown
    matches: tuple[CatalogMatch, ...]
    sources: tuple[SourceStatus, ...]


def to_record(stored: StoredCve) -> CveRecord:
    """A stored CVE (each source as published) as the matcher's merged record."""
    nvd = parse_nvd_cve(stored.nvd) if stored.nvd else None
    cve5 = parse_cve5(stored.cve5) if stored.cve5 else None
    kev = parse_kev_entry(stored.kev) if stored.kev else None
    epss = None
    if stored.epss:
        epss = EpssScore(
            stored.cve_id,
            float(stored.epss["score"]),
            float(stored.epss["percentile"]),
            str(stored.epss.get("date", "")),
        )
    provenance = tuple(
        SourceRef(source=name, location=import_id, snapshot=stored.last_modified.get(name, ""))
        for name, import_id in sorted(stored.sources.items())
    )
    if nvd is None and cve5 is None:  # KEV/EPSS values for a CVE whose record was not imported
        return CveRecord(id=stored.cve_id, kev=kev, epss=epss, provenance=provenance)
    return merge(nvd, cve5, kev, epss, provenance)


class KnowledgeService:
    """Answers catalog questions from the active generation of the feed store."""

    def __init__(self, store: CatalogStore, feeds: FeedService, aliases: Aliases | None = None) -> None:
        self._store = store
        self._feeds = feeds
        self._aliases = aliases
        self._generation = -1  # nothing indexed yet
        self._matcher = Matcher(KnowledgeIndex((), aliases))
        self._lock = asyncio.Lock()
        self._recent: dict[str, CveRecord] = {}  # records recently read, of the indexed generation
        self.skipped: list[str] = []  # CVE ids whose stored records could not be parsed

    @property
    def generation(self) -> int:
        return self._generation

    async def refresh(self) -> None:
        """Rebuild the index when the active generation differs from the one indexed."""
        if await self._store.active() == self._generation:
            return
        if self._lock.locked() and self._generation >= 0:
            return  # another query is rebuilding: answer from the previous generation meanwhile
        async with self._lock:
            generation = await self._store.active()
            if generation == self._generation:
                return
            # The index keeps compact match rows, not records: records are parsed a batch at a time and
            # indexed off the event loop (CPU work), so other RPCs keep being served meanwhile.
            index = KnowledgeIndex((), self._aliases)
            batch: list[CveRecord] = []
            skipped: list[str] = []
            async for stored in self._store.all(generation):
                try:
                    batch.append(to_record(stored))
                except (InvalidRecord, KeyError, TypeError, ValueError):
                    skipped.append(stored.cve_id)
                if len(batch) >= BATCH:
                    await asyncio.to_thread(_index, index, batch)
                    batch = []
            await asyncio.to_thread(_index, index, batch)
            await asyncio.to_thread(index.finish)
            # The index lives until the next generation: leave its objects out of later full collections
            # (docs/knowledge.md, "Speed and memory"). It holds no reference cycles, so the one it
            # replaces is still freed by reference counting.
            gc.freeze()
            self._matcher = Matcher(index)
            self._generation, self.skipped, self._recent = generation, skipped, {}

    async def records(self, cve_ids: list[str]) -> dict[str, CveRecord]:
        """The full records of CVEs the index holds, read from the store at the indexed generation."""
        generation, recent = self._generation, self._recent
        out = {cve_id: recent[cve_id] for cve_id in cve_ids if cve_id in recent}
        missing = [cve_id for cve_id in cve_ids if cve_id not in out]
        for start in range(0, len(missing), BATCH):
            found = await self._store.many(missing[start : start + BATCH], generation)
            for cve_id, stored in found.items():
                try:
                    out[cve_id] = to_record(stored)
                except (InvalidRecord, KeyError, TypeError, ValueError):
                    continue  # listed in skipped when the index was built
                if generation == self._generation:
                    if len(self._recent) >= RECORDS_KEPT:
                        self._recent.clear()
                    self._recent[cve_id] = out[cve_id]
        return out

    async def entry(self, cve_id: str) -> CatalogEntry:
        await self.refresh()
        cve_id = cve_id.strip().upper()
        record = (await self.records([cve_id])).get(cve_id) if cve_id in self._matcher.index else None
        if record is None:
            raise CatalogEntryNotFound(f"{cve_id[:40]} is not in the knowledge base", cve_id=cve_id[:40])
        statuses = await self._feeds.status()
        names = {w.cwe_id: n for w in record.weaknesses if (n := cwe_name(w.cwe_id))}
        return CatalogEntry(record, assess(record), names, _provenance(record, statuses))

    async def match(self, query: Query) -> CatalogMatches:
        if not query.cpe and not (query.product and query.version):
            raise InvalidArgument("give a cpe, or a product and a version", field="cpe")
        await self.refresh()
        try:
            resolved = self._matcher.resolve(query)
            found = self._matcher.match(query)
        except InvalidCpe as exc:
            raise InvalidArgument(f"not a CPE 2.3 name: {exc}", field="cpe") from exc
        records = await self.records([m.cve_id for m in found])
        matches = tuple(
            CatalogMatch(replace(m, record=records[m.cve_id]), assess(records[m.cve_id]))
            for m in found
            if m.cve_id in records
        )
        ranked = tuple(sorted(matches, key=lambda c: (c.assessment.sort_key(), c.match.cve_id)))
        statuses = await self._feeds.status()
        used = {ref.location for c in ranked if c.match.record for ref in c.match.record.provenance}
        sources = tuple(s for s in statuses if s.last_import_id in used) if used else tuple(statuses)
        return CatalogMatches(resolved[0].key if resolved else None, ranked, sources)


def _index(index: KnowledgeIndex, records: list[CveRecord]) -> None:
    for record in records:
        index.add(record)


def _provenance(record: CveRecord, statuses: list[SourceStatus]) -> tuple[Provenance, ...]:
    by_import = {s.last_import_id: s for s in statuses}
    by_kind = {s.kind.value: s for s in statuses}
    out = []
    for ref in record.provenance:
        status = by_import.get(ref.location) or by_kind.get(ref.source)
        out.append(
            Provenance(
                ref.source,
                ref.location,
                ref.snapshot.removeprefix(STARTER_MARK).split("|", 1)[0],
                status.kind if status else None,
                status.stale if status else True,
            )
        )
    return tuple(out)
