"""Feed lookups: the ``IndicatorLookup`` the analysis asks, and an in-memory one."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from rampart_threat.analysis.domain import FeedHit


class IndicatorLookup(Protocol):
    """Feed entries for one indicator, as seen by one organisation (its own lists included).

    ``kind`` is url, domain, ipv4, ipv6, md5, sha1, sha256 or email; ``value`` is normalised
    (lower-case host, compressed address, lower-case hex).
    """

    async def lookup(self, kind: str, value: str, org_id: str) -> list[FeedHit]: ...


class NoFeeds:
    """No feed imported: every lookup is empty (the default until feeds are wired)."""

    async def lookup(self, kind: str, value: str, org_id: str) -> list[FeedHit]:
        return []


class InMemoryIndicatorLookup:
    """Feed entries held in a dict; ``org_id`` "" makes an entry visible to every organisation."""

    def __init__(self, entries: Iterable[tuple[str, FeedHit]] = ()) -> None:
        self._entries: dict[tuple[str, str], list[tuple[str, FeedHit]]] = {}
        for org_id, hit in entries:
            self.add(hit, org_id)

    def add(self, hit: FeedHit, org_id: str = "") -> None:
        self._entries.setdefault((hit.kind, hit.value), []).append((org_id, hit))

    async def lookup(self, kind: str, value: str, org_id: str) -> list[FeedHit]:
        return [hit for owner, hit in self._entries.get((kind, value), []) if owner in ("", org_id)]
