"""An in-memory index of feed indicators: exact values, CIDR containment for addresses, parent domains."""

from __future__ import annotations

import ipaddress
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from rampart_threat.analysis.domain import FeedHit
from rampart_threat.intel.model import Indicator


@dataclass(frozen=True)
class Listing:
    """Where an indicator was listed: the feed, what it says, since when, when it was imported."""

    source: str
    threat: str
    first_seen: datetime | None
    imported_at: datetime | None


class IndicatorIndex:
    """Exact values in one dict; networks in one dict per (IP version, prefix length).

    A lookup of an address probes only the prefix lengths that occur (33 at most for IPv4),
    so it costs the same with ten networks or a million. Listings are interned: a million
    indicators of one feed share one ``Listing`` per (threat, first_seen) pair.
    """

    def __init__(self) -> None:
        self._exact: dict[str, Listing | list[Listing]] = {}
        self._networks: dict[tuple[int, int], dict[int, Listing | list[Listing]]] = {}
        self._interned: dict[Listing, Listing] = {}
        self.size = 0

    def add_all(self, source: str, indicators: Iterable[Indicator], imported_at: datetime | None) -> None:
        for found in indicators:
            self.add(source, found, imported_at)

    def add(self, source: str, found: Indicator, imported_at: datetime | None = None) -> None:
        listing = Listing(source, found.threat, found.first_seen, imported_at)
        listing = self._interned.setdefault(listing, listing)
        if found.kind == "cidr":
            network = ipaddress.ip_network(found.value)
            if network.prefixlen == network.max_prefixlen:  # a /32 is an address
                _put(self._exact, f"ipv{network.version}\0{network.network_address}", listing)
            else:
                table = self._networks.setdefault((network.version, network.prefixlen), {})
                _put(table, int(network.network_address), listing)
        else:
            _put(self._exact, sys.intern(f"{found.kind}\0{found.value}"), listing)
        self.size += 1

    def lookup(self, kind: str, value: str) -> list[FeedHit]:
        """Every listing of ``value`` (normalised), of a network holding it, or of a parent domain."""
        hits = [_hit(listing, kind, value) for listing in _get(self._exact, f"{kind}\0{value}")]
        if kind in ("ipv4", "ipv6"):
            address = ipaddress.ip_address(value)
            number, width = int(address), address.max_prefixlen
            for (version, prefix), table in self._networks.items():
                if version != address.version:
                    continue
                base = number >> (width - prefix) << (width - prefix)
                network = f"{ipaddress.ip_address(base)}/{prefix}"
                hits += [_hit(listing, "cidr", network) for listing in _get(table, base)]
        elif kind == "domain":
            labels = value.split(".")
            for start in range(1, len(labels) - 1):  # evil.example lists www.evil.example
                parent = ".".join(labels[start:])
                hits += [
                    _hit(listing, "domain", parent) for listing in _get(self._exact, f"domain\0{parent}")
                ]
        return hits


def _put(table: dict, key: object, listing: Listing) -> None:  # type: ignore[type-arg]
    present = table.get(key)
    if present is None:
        table[key] = listing
    elif isinstance(present, list):
        if listing not in present:
            present.append(listing)
    elif present != listing:
        table[key] = [present, listing]


def _get(table: dict, key: object) -> list[Listing]:  # type: ignore[type-arg]
    present = table.get(key)
    if present is None:
        return []
    return present if isinstance(present, list) else [present]


def _hit(listing: Listing, kind: str, value: str) -> FeedHit:
    return FeedHit(listing.source, kind, value, listing.threat, listing.first_seen, listing.imported_at)
