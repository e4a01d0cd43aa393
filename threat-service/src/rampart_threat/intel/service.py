"""Threat-intel use cases: import a feed file, answer lookups, keep organisations' allow/deny lists."""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from rampart.lib.errors import InvalidArgument, NotFound
from rampart.lib.ids import utcnow
from rampart_threat.analysis.domain import FeedHit
from rampart_threat.feeds.domain import FeedPathRefused
from rampart_threat.feeds.paths import resolve_under
from rampart_threat.intel.index import IndicatorIndex
from rampart_threat.intel.model import BadIndicator, indicator
from rampart_threat.intel.readers import READERS
from rampart_threat.intel.store import IntelStore, ListEntry, SourceState

ORG_DENY = "org deny list"
LISTS = ("allow", "deny")


class ListEntryNotFound(NotFound):
    """No entry with that id on the organisation's lists (another organisation's is not found either)."""


@dataclass(frozen=True)
class ImportResult:
    state: SourceState
    unchanged: bool  # the same file as the active generation: nothing was written


@dataclass(frozen=True)
class SourceStatus:
    state: SourceState
    stale: bool


@dataclass
class IntelService:
    """Feeds by source name, each replaced whole by an import; lookups served from memory.

    Implements the analysis side's ``IndicatorLookup`` (``lookup(kind, value, org_id)``).
    An organisation's allow list hides feed hits on its values; its deny list adds a hit
    (source ``org deny list``) and wins over its allow list.
    """

    store: IntelStore
    feeds_dir: Path | None = None  # FEEDS_DIR: the only place imports over RPC may read
    stale_after: timedelta = timedelta(days=2)
    now: Callable[[], datetime] = field(default=utcnow)
    index: IndicatorIndex = field(default_factory=IndicatorIndex)
    _lists: dict[str, list[ListEntry]] = field(default_factory=dict)

    async def import_under_feeds_dir(self, format: str, requested: str, source: str = "") -> ImportResult:
        """An import asked for over RPC: only a file inside FEEDS_DIR (``feeds.paths``) is read."""
        if format not in READERS:
            raise InvalidArgument(f"kind must be one of {', '.join(READERS)}", field="kind")
        path = resolve_under(self.feeds_dir, requested)
        if path.is_dir():
            raise FeedPathRefused("a threat-intel import is one file, not a directory", path=requested)
        return await self.import_file(source or format, format, path)

    async def import_file(self, source: str, format: str, path: Path) -> ImportResult:
        data = await asyncio.to_thread(path.read_bytes)
        return await self.import_bytes(source, format, data)

    async def import_bytes(self, source: str, format: str, data: bytes) -> ImportResult:
        """Read, write a new generation, switch to it; the same bytes again change nothing."""
        if format not in READERS:
            raise InvalidArgument(f"format must be one of {', '.join(READERS)}", field="format")
        digest = hashlib.sha256(data).hexdigest()
        current = await self.store.state(source)
        if current is not None and current.sha256 == digest and current.format == format:
            return ImportResult(current, unchanged=True)
        read = READERS[format](data.decode("utf-8-sig", errors="replace"))
        generation = await self.store.allocate(source)
        await self.store.write(source, generation, read.indicators)
        state = SourceState(
            source, format, generation, digest, len(read.indicators), read.skipped, self.now()
        )
        await self.store.switch(state)
        await self.reload()
        return ImportResult(state, unchanged=False)

    async def reload(self) -> None:
        """Rebuild the in-memory index from every source's active generation."""
        index = IndicatorIndex()
        for state in await self.store.states():
            async for found in self.store.active(state):
                index.add(state.source, found, state.imported_at)
        self.index = index  # swapped whole: a lookup sees the old index or the new one

    async def status(self) -> list[SourceStatus]:
        limit = self.now() - self.stale_after
        return [
            SourceStatus(state, state.imported_at is None or state.imported_at < limit)
            for state in await self.store.states()
        ]

    async def lookup(self, kind: str, value: str, org_id: str) -> list[FeedHit]:
        entries = await self._entries(org_id)
        denied = [e for e in entries if e.list == "deny" and _covers(e, kind, value)]
        hits = [FeedHit(ORG_DENY, e.kind, e.value, e.note) for e in denied]
        if denied or not any(e.list == "allow" and _covers(e, kind, value) for e in entries):
            hits += self.index.lookup(kind, value)
        return hits

    async def add_entry(self, org_id: str, list_name: str, value: str, note: str = "") -> ListEntry:
        """Put a value on the organisation's allow or deny list (again: its note is replaced)."""
        if list_name not in LISTS:
            raise InvalidArgument("list must be allow or deny", field="list")
        try:
            found = indicator(value)
        except BadIndicator as error:
            raise InvalidArgument(str(error), field="value") from error
        entry = ListEntry(org_id, list_name, found.kind, found.value, note[:200], self.now())
        await self.store.put_entry(entry)
        self._lists.pop(org_id, None)
        return entry

    async def entries(self, org_id: str, list_name: str = "") -> list[ListEntry]:
        """The organisation's entries (of one list when named), by list then value."""
        found = await self.store.entries(org_id)
        return sorted(
            (e for e in found if not list_name or e.list == list_name),
            key=lambda e: (e.list, e.kind, e.value),
        )

    async def remove_entry(self, org_id: str, entry_id: str) -> ListEntry:
        removed = await self.store.drop_entry(org_id, entry_id)
        self._lists.pop(org_id, None)
        if removed is None:
            raise ListEntryNotFound("no such list entry", entry_id=entry_id)
        return removed

    async def _entries(self, org_id: str) -> list[ListEntry]:
        if org_id not in self._lists:
            self._lists[org_id] = await self.store.entries(org_id)
        return self._lists[org_id]


def _covers(entry: ListEntry, kind: str, value: str) -> bool:
    if entry.kind == kind and entry.value == value:
        return True
    if entry.kind == "cidr" and kind in ("ipv4", "ipv6"):
        return ipaddress.ip_address(value) in ipaddress.ip_network(entry.value)
    return entry.kind == "domain" and kind == "domain" and value.endswith("." + entry.value)
