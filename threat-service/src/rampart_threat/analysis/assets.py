"""Matches in the organisation's own assets: the ``AssetLookup`` port the analysis asks, and its adapters.

The inventory is the hosts the organisation's scans have seen (threat-service keeps it from the
scan events it consumes, see ``rampart_threat.assets``). A match is made on the stored
address or name only: the analysis never resolves a name, so a domain matches an asset only when
the organisation scanned that name, and an address only when it scanned that address.
"""

from __future__ import annotations

import ipaddress
from typing import Protocol

from rampart_threat.analysis.domain import AssetMatch
from rampart_threat.assets.repository import AssetRepository

HOST_KINDS = frozenset({"ipv4", "ipv6", "domain"})


class AssetLookup(Protocol):
    """The organisation's assets that one indicator names.

    ``indicator_kind`` is ipv4, ipv6 or domain (other kinds never match); ``value`` is normalised
    (compressed address, lower-case name).
    """

    async def assets_for(self, org_id: str, indicator_kind: str, value: str) -> list[AssetMatch]: ...


class NoAssets:
    """No inventory wired: no indicator matches an asset (the default)."""

    async def assets_for(self, org_id: str, indicator_kind: str, value: str) -> list[AssetMatch]:
        return []


class InventoryAssetLookup:
    """``AssetLookup`` over the asset inventory threat-service keeps from scan events."""

    def __init__(self, assets: AssetRepository) -> None:
        self._assets = assets

    async def assets_for(self, org_id: str, indicator_kind: str, value: str) -> list[AssetMatch]:
        host = stored_form(indicator_kind, value)
        if not host:
            return []
        found = await self._assets.find(org_id, (), (host,), False)
        return [
            AssetMatch(a.asset_id, a.host, a.open_ports, a.last_scan_id, a.last_seen, matched=value)
            for a in found
            if a.host == host
        ]


def stored_form(indicator_kind: str, value: str) -> str:
    """The host as the inventory stores it (``assets.domain.normalise_host``); "" for no host."""
    if indicator_kind not in HOST_KINDS:
        return ""
    text = value.strip().strip("[]")
    if indicator_kind == "domain":
        return text.lower().rstrip(".")
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return ""
