"""What the pipeline keeps per scan: the hosts the scan reached, the findings it announced and, once it
ended, its settlement. It is what the pipeline settles from (the coverage's hosts) and what the scan
list and results read (counts by severity, the scan's findings); the vulnerability records with their
lifecycle are the ledger's. Every write is idempotent, so a redelivered event changes nothing."""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Protocol

from pymongo.asynchronous.database import AsyncDatabase

from rampart_threat.findings.model import Severity
from rampart_threat.findings.ports import Settlement

COLLECTION = "finding_scans"
MAX_SCANS = 100  # scans per batch count (a page of the scan list)
RANK = {severity.value: rank for rank, severity in enumerate(reversed(Severity))}  # critical first


@dataclass(frozen=True)
class ScanFinding:
    """A finding as its scan announced it (the notice on the scan's stream)."""

    vulnerability_id: str
    fingerprint: str
    type: str
    severity: str
    title: str
    host: str
    port: int
    protocol: str
    cve: str = ""
    rule_id: str = ""
    status: str = ""
    first_sighting: bool = False
    confidence: str = ""
    priority: str = ""


@dataclass(frozen=True)
class Tally:
    """One scan as the pipeline saw it so far."""

    scan_id: str
    org_id: str = ""
    hosts: frozenset[str] = frozenset()
    findings: Mapping[str, ScanFinding] = field(default_factory=dict)  # by fingerprint
    settlement: Settlement | None = None  # set once the scan's final event was applied
    # Port events begun and not finished (by event key): a crash left them to be redelivered.
    pending: Mapping[str, datetime] = field(default_factory=dict)

    def by_severity(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for finding in self.findings.values():
            counts[finding.severity] = counts.get(finding.severity, 0) + 1
        return counts

    def ordered(self) -> list[ScanFinding]:
        """Most severe first, then by host and port."""
        return sorted(
            self.findings.values(),
            key=lambda f: (RANK.get(f.severity, len(RANK)), f.host, f.port, f.fingerprint),
        )


def event_key(event_id: str) -> str:
    """A scan event's id as a document field name (event ids hold dots)."""
    return hashlib.sha256(event_id.encode()).hexdigest()[:24]


class ScanTally(Protocol):
    """Per-scan hosts, findings and settlement, kept across restarts of threat-service."""

    async def begin(
        self, scan_id: str, org_id: str, hosts: Collection[str], event_ids: Collection[str], at: datetime
    ) -> None:
        """Port events' findings are being made; ``note(..., done=event_ids)`` finishes them."""
        ...

    async def note(
        self,
        scan_id: str,
        org_id: str,
        hosts: Collection[str],
        findings: Sequence[ScanFinding],
        done: Collection[str] = (),
    ) -> None: ...

    async def settle(self, scan_id: str, org_id: str, settlement: Settlement) -> None: ...

    async def tally(self, scan_id: str) -> Tally: ...

    async def of_scans(self, org_id: str, scan_ids: Sequence[str]) -> list[Tally]:
        """The organisation's tallies among ``scan_ids`` (others' and unknown ones are left out)."""
        ...


class InMemoryScanTally:
    """For unit tests."""

    def __init__(self) -> None:
        self._scans: dict[str, Tally] = {}

    async def begin(
        self, scan_id: str, org_id: str, hosts: Collection[str], event_ids: Collection[str], at: datetime
    ) -> None:
        old = self._scans.get(scan_id, Tally(scan_id, org_id))
        pending = {**old.pending, **{event_key(event_id): at for event_id in event_ids}}
        self._scans[scan_id] = Tally(
            scan_id, org_id, old.hosts | set(hosts), old.findings, old.settlement, pending
        )

    async def note(
        self,
        scan_id: str,
        org_id: str,
        hosts: Collection[str],
        findings: Sequence[ScanFinding],
        done: Collection[str] = (),
    ) -> None:
        old = self._scans.get(scan_id, Tally(scan_id, org_id))
        merged = {**old.findings, **{f.fingerprint: f for f in findings}}
        finished = {event_key(event_id) for event_id in done}
        pending = {k: at for k, at in old.pending.items() if k not in finished}
        self._scans[scan_id] = Tally(scan_id, org_id, old.hosts | set(hosts), merged, old.settlement, pending)

    async def settle(self, scan_id: str, org_id: str, settlement: Settlement) -> None:
        old = self._scans.get(scan_id, Tally(scan_id, org_id))
        self._scans[scan_id] = Tally(scan_id, org_id, old.hosts, old.findings, settlement, old.pending)

    async def tally(self, scan_id: str) -> Tally:
        return self._scans.get(scan_id, Tally(scan_id))

    async def of_scans(self, org_id: str, scan_ids: Sequence[str]) -> list[Tally]:
        found = (self._scans.get(scan_id) for scan_id in scan_ids[:MAX_SCANS])
        return [tally for tally in found if tally is not None and tally.org_id == org_id]


class MongoScanTally:
    """One document per scan: ``{_id: scan_id, org_id, hosts: [..], findings: {fingerprint: {..}},
    settlement: {findings, by_severity, resolved}}``."""

    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self._collection = db[COLLECTION]

    async def create_indexes(self) -> None:
        await self._collection.create_index("org_id")

    async def begin(
        self, scan_id: str, org_id: str, hosts: Collection[str], event_ids: Collection[str], at: datetime
    ) -> None:
        # The hosts too: nx-27017's $addToSet does nothing on an existing document lacking the array.
        update: dict[str, Any] = {
            "$addToSet": {"hosts": {"$each": sorted(set(hosts))}},
            "$set": {"org_id": org_id},
        }
        for event_id in event_ids:
            update["$set"][f"pending.{event_key(event_id)}"] = at.isoformat()
        await self._collection.update_one({"_id": scan_id}, update, upsert=True)

    async def note(
        self,
        scan_id: str,
        org_id: str,
        hosts: Collection[str],
        findings: Sequence[ScanFinding],
        done: Collection[str] = (),
    ) -> None:
        update: dict[str, Any] = {
            "$addToSet": {"hosts": {"$each": sorted(set(hosts))}},
            "$set": {"org_id": org_id},
        }
        for finding in findings:
            update["$set"][f"findings.{finding.fingerprint}"] = asdict(finding)
        for event_id in done:  # null, not $unset: nx-27017 drops the $addToSet of an update that also unsets
            update["$set"][f"pending.{event_key(event_id)}"] = None
        await self._collection.update_one({"_id": scan_id}, update, upsert=True)

    async def settle(self, scan_id: str, org_id: str, settlement: Settlement) -> None:
        await self._collection.update_one(
            {"_id": scan_id}, {"$set": {"org_id": org_id, "settlement": asdict(settlement)}}, upsert=True
        )

    async def tally(self, scan_id: str) -> Tally:
        document = await self._collection.find_one({"_id": scan_id})
        return Tally(scan_id) if document is None else _tally(document)

    async def of_scans(self, org_id: str, scan_ids: Sequence[str]) -> list[Tally]:
        cursor = self._collection.find({"_id": {"$in": list(scan_ids[:MAX_SCANS])}, "org_id": org_id})
        return [_tally(document) async for document in cursor]


def _tally(document: Mapping[str, Any]) -> Tally:
    findings = {fp: ScanFinding(**fields) for fp, fields in (document.get("findings") or {}).items()}
    settled = document.get("settlement")
    settlement = None if settled is None else Settlement(**settled)
    return Tally(
        document["_id"],
        document.get("org_id", ""),
        frozenset(document.get("hosts", [])),
        findings,
        settlement,
        {key: datetime.fromisoformat(at) for key, at in (document.get("pending") or {}).items() if at},
    )
