"""What the pipeline keeps per scan between its events: the hosts the scan reached and the findings
it recorded (fingerprint -> severity). Every write is idempotent, so a redelivered event changes nothing."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from pymongo.asynchronous.database import AsyncDatabase

COLLECTION = "finding_scans"


@dataclass(frozen=True)
class Tally:
    """One scan as the pipeline saw it so far."""

    hosts: frozenset[str] = frozenset()
    seen: Mapping[str, str] = field(default_factory=dict)  # fingerprint -> severity

    def by_severity(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for severity in self.seen.values():
            counts[severity] = counts.get(severity, 0) + 1
        return counts


class ScanTally(Protocol):
    """Per-scan hosts and findings, kept across restarts of threat-service."""

    async def note(self, scan_id: str, host: str, seen: Mapping[str, str]) -> None: ...

    async def tally(self, scan_id: str) -> Tally: ...


class InMemoryScanTally:
    """For unit tests."""

    def __init__(self) -> None:
        self._scans: dict[str, tuple[set[str], dict[str, str]]] = {}

    async def note(self, scan_id: str, host: str, seen: Mapping[str, str]) -> None:
        hosts, found = self._scans.setdefault(scan_id, (set(), {}))
        hosts.add(host)
        found.update(seen)

    async def tally(self, scan_id: str) -> Tally:
        hosts, found = self._scans.get(scan_id, (set(), {}))
        return Tally(frozenset(hosts), dict(found))


class MongoScanTally:
    """One small document per scan: ``{_id: scan_id, hosts: [..], seen: {fingerprint: severity}}``."""

    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self._collection = db[COLLECTION]

    async def note(self, scan_id: str, host: str, seen: Mapping[str, str]) -> None:
        update: dict[str, Any] = {"$addToSet": {"hosts": host}}
        if seen:
            update["$set"] = {f"seen.{fingerprint}": severity for fingerprint, severity in seen.items()}
        await self._collection.update_one({"_id": scan_id}, update, upsert=True)

    async def tally(self, scan_id: str) -> Tally:
        document = await self._collection.find_one({"_id": scan_id})
        if document is None:
            return Tally()
        return Tally(frozenset(document.get("hosts", [])), dict(document.get("seen", {})))
