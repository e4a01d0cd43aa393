"""Where vulnerability records are stored: the only module that knows their document fields.

``vulnerabilities``: one document per fingerprint (``_id`` = vulnerability id), its recent
sightings and history inside it; every change is a whole-record write guarded by ``version``.
``vulnerability_sightings``: one marker per (record, scan) (``_id`` = "<id>:<scan id>") with an
``applied`` flag: the de-duplication of a redelivered finding, and the exact list of what a scan saw.
The local store has no multi-document transactions (docs/store.md): each write is a single-document
atomic write, and the ledger's steps are ordered so that a crash between them and a redelivery converge.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any, Protocol

from pymongo import ASCENDING, DESCENDING, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from rampart.lib.store import Document, read_time
from rampart_threat.findings.domain import (
    Change,
    HistoryEntry,
    Observation,
    SightingEntry,
    Status,
    Vulnerability,
)
from rampart_threat.findings.model import Confidence, FindingType, Severity

SEVERITY_RANK = {severity: rank for rank, severity in enumerate(Severity, start=1)}
PRIORITY_RANK = {"act": 4, "attend": 3, "track*": 2, "track": 1}
HOST_BATCH = 500  # hosts per query when settling a scan of many hosts
DUPLICATE_KEY = 11000


class Delivery(Enum):
    """How a (record, scan) sighting relates to what was recorded before."""

    FIRST = "first"
    INTERRUPTED = "interrupted"  # marked before, but not finished (a crash): apply again, idempotently
    REPEATED = "repeated"  # marked and applied: a redelivery


class Sort(Enum):
    PRIORITY = "priority"
    SEVERITY = "severity"
    LAST_SEEN = "last_seen"
    FIRST_SEEN = "first_seen"


@dataclass(frozen=True)
class SightingMark:
    """One (record, scan) sighting as its marker records it."""

    vulnerability_id: str
    org_id: str
    live: bool
    scan_id: str
    severity: Severity
    at: datetime


@dataclass(frozen=True)
class VulnerabilityFilter:
    """A listing's filters, all scoped to one organisation and world; empty values do not filter."""

    org_id: str
    live: bool
    severities: frozenset[Severity] = frozenset()
    statuses: frozenset[Status] = frozenset()
    kev: bool | None = None
    cve: str = ""
    host: str = ""
    port: int = 0
    type: FindingType | None = None
    scan_id: str = ""  # records this scan saw
    min_key: int | None = None  # first seen at or after (first_seen_key)
    max_key: int | None = None  # first seen before


@dataclass(frozen=True)
class VulnerabilityOrder:
    sort: Sort = Sort.PRIORITY
    descending: bool = True


class VulnerabilityRepository(Protocol):
    """What the ledger needs from storage (tests use an in-memory fake)."""

    async def mark(self, mark: SightingMark) -> Delivery: ...

    async def applied(self, vulnerability_id: str, scan_id: str) -> None: ...

    async def get(self, vulnerability_id: str) -> Vulnerability | None: ...

    async def add(self, vulnerability: Vulnerability) -> bool: ...  # False: the id exists

    async def save(self, vulnerability: Vulnerability) -> bool: ...  # False: changed meanwhile

    # The same, many at once (one store round trip each): what a batch of port events records.
    async def mark_many(self, marks: Sequence[SightingMark]) -> list[Delivery]: ...

    async def applied_many(self, sightings: Sequence[tuple[str, str]]) -> None: ...  # (id, scan)

    async def get_many(self, vulnerability_ids: Sequence[str]) -> dict[str, Vulnerability]: ...

    async def add_many(self, vulnerabilities: Sequence[Vulnerability]) -> set[str]: ...  # the ids added

    async def save_many(self, vulnerabilities: Sequence[Vulnerability]) -> bool:
        """Version-guarded like ``save``; False when any of them changed meanwhile (which is not said:
        the caller reads them again)."""
        ...

    async def on_hosts(self, org_id: str, live: bool, hosts: Iterable[str]) -> list[Vulnerability]: ...

    async def seen_by(self, org_id: str, live: bool, scan_id: str) -> dict[str, Severity]: ...

    async def resolved_by(self, org_id: str, live: bool, scan_id: str) -> int: ...

    async def find(
        self,
        where: VulnerabilityFilter,
        order: VulnerabilityOrder,
        skip: int,
        limit: int,
        after_key: int | None,
    ) -> tuple[list[tuple[Vulnerability, int]], int]: ...


def micros(value: datetime) -> int:
    return int(value.timestamp() * 1_000_000)


def first_seen_key(vulnerability: Vulnerability) -> int:
    """A number (the store compares numbers, not dates: docs/store.md): µs * 1000 + a tie-breaker."""
    return micros(vulnerability.first_seen) * 1000 + int(vulnerability.fingerprint[:6], 16) % 1000


def sort_keys(vulnerability: Vulnerability) -> dict[str, float]:
    seen = vulnerability.observation
    severity = SEVERITY_RANK[seen.severity] * 100 + (seen.cvss_score or 0.0)
    return {
        "priority_key": PRIORITY_RANK.get(seen.priority, 0) * 1000 + severity,
        "severity_key": severity,
        "last_seen_key": micros(vulnerability.last_seen),
    }


SORT_FIELDS = {
    Sort.PRIORITY: "priority_key",
    Sort.SEVERITY: "severity_key",
    Sort.LAST_SEEN: "last_seen_key",
    Sort.FIRST_SEEN: "first_seen_key",
}


class MongoVulnerabilityRepository:
    """Records in ``vulnerabilities``, sighting markers in ``vulnerability_sightings``."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._records = db["vulnerabilities"]
        self._sightings = db["vulnerability_sightings"]

    async def create_indexes(self) -> None:
        for key in SORT_FIELDS.values():
            await self._records.create_index([("org_id", ASCENDING), ("live", ASCENDING), (key, DESCENDING)])
        await self._records.create_index([("org_id", ASCENDING), ("live", ASCENDING), ("host", ASCENDING)])
        await self._sightings.create_index(
            [("org_id", ASCENDING), ("live", ASCENDING), ("scan_id", ASCENDING)]
        )
        await self._records.create_index([("org_id", ASCENDING), ("resolved_scan_id", ASCENDING)])

    async def mark(self, mark: SightingMark) -> Delivery:
        """Insert the sighting's marker, not yet applied; an existing marker says how it went before."""
        key = f"{mark.vulnerability_id}:{mark.scan_id}"
        try:
            await self._sightings.insert_one(
                {
                    "_id": key,
                    "vulnerability_id": mark.vulnerability_id,
                    "org_id": mark.org_id,
                    "live": mark.live,
                    "scan_id": mark.scan_id,
                    "severity": mark.severity.value,
                    "at": mark.at,
                    "applied": False,
                }
            )
        except DuplicateKeyError:
            marker = await self._sightings.find_one({"_id": key})
            if marker is not None and not marker.get("applied"):  # nx-27017 reads a $set true back as 1
                return Delivery.INTERRUPTED
            return Delivery.REPEATED
        return Delivery.FIRST

    async def mark_many(self, marks: Sequence[SightingMark]) -> list[Delivery]:
        """``mark`` for many in one unordered insert; the markers that existed are read in one query."""
        if not marks:
            return []
        keys = [f"{m.vulnerability_id}:{m.scan_id}" for m in marks]
        documents = [
            {
                "_id": key,
                "vulnerability_id": m.vulnerability_id,
                "org_id": m.org_id,
                "live": m.live,
                "scan_id": m.scan_id,
                "severity": m.severity.value,
                "at": m.at,
                "applied": False,
            }
            for key, m in zip(keys, marks, strict=True)
        ]
        existed: set[int] = set()
        try:
            await self._sightings.insert_many(documents, ordered=False)
        except BulkWriteError as error:
            errors = error.details.get("writeErrors", [])
            if any(e.get("code") != DUPLICATE_KEY for e in errors):
                raise
            existed = {int(e["index"]) for e in errors}
        deliveries = [Delivery.FIRST] * len(marks)
        if existed:
            wanted = sorted({keys[i] for i in existed})
            applied = {
                doc["_id"]: bool(doc.get("applied"))  # nx-27017 reads a $set true back as 1
                async for doc in self._sightings.find({"_id": {"$in": wanted}}, {"applied": 1})
            }
            for i in existed:
                deliveries[i] = Delivery.REPEATED if applied.get(keys[i], True) else Delivery.INTERRUPTED
        return deliveries

    async def applied_many(self, sightings: Sequence[tuple[str, str]]) -> None:
        if sightings:
            keys = sorted({f"{record}:{scan}" for record, scan in sightings})
            await self._sightings.update_many({"_id": {"$in": keys}}, {"$set": {"applied": True}})

    async def get_many(self, vulnerability_ids: Sequence[str]) -> dict[str, Vulnerability]:
        if not vulnerability_ids:
            return {}
        query = {"_id": {"$in": sorted(set(vulnerability_ids))}}
        return {doc["_id"]: from_doc(doc) async for doc in self._records.find(query)}

    async def add_many(self, vulnerabilities: Sequence[Vulnerability]) -> set[str]:
        if not vulnerabilities:
            return set()
        documents = [{**to_doc(v), "first_seen_key": first_seen_key(v)} for v in vulnerabilities]
        existed: set[int] = set()
        try:
            await self._records.insert_many(documents, ordered=False)
        except BulkWriteError as error:
            errors = error.details.get("writeErrors", [])
            if any(e.get("code") != DUPLICATE_KEY for e in errors):
                raise
            existed = {int(e["index"]) for e in errors}
        return {v.vulnerability_id for i, v in enumerate(vulnerabilities) if i not in existed}

    async def save_many(self, vulnerabilities: Sequence[Vulnerability]) -> bool:
        if not vulnerabilities:
            return True
        writes = []
        for vulnerability in vulnerabilities:
            doc = to_doc(vulnerability)
            doc["version"] = vulnerability.version + 1
            doc["first_seen_key"] = first_seen_key(vulnerability)
            writes.append(
                UpdateOne(
                    {"_id": vulnerability.vulnerability_id, "version": vulnerability.version},
                    {"$set": {key: value for key, value in doc.items() if key != "_id"}},
                )
            )
        result = await self._records.bulk_write(writes, ordered=False)
        if result.matched_count != len(writes):
            return False
        for vulnerability in vulnerabilities:
            vulnerability.version += 1
        return True

    async def applied(self, vulnerability_id: str, scan_id: str) -> None:
        await self._sightings.update_one(
            {"_id": f"{vulnerability_id}:{scan_id}"}, {"$set": {"applied": True}}
        )

    async def get(self, vulnerability_id: str) -> Vulnerability | None:
        doc = await self._records.find_one({"_id": vulnerability_id})
        return from_doc(doc) if doc is not None else None

    async def add(self, vulnerability: Vulnerability) -> bool:
        try:
            await self._records.insert_one(
                {**to_doc(vulnerability), "first_seen_key": first_seen_key(vulnerability)}
            )
        except DuplicateKeyError:
            return False
        return True

    async def save(self, vulnerability: Vulnerability) -> bool:
        doc = to_doc(vulnerability)
        doc["version"] = vulnerability.version + 1
        doc["first_seen_key"] = first_seen_key(vulnerability)  # an out-of-order older sighting moves it
        result = await self._records.update_one(
            {"_id": vulnerability.vulnerability_id, "version": vulnerability.version},
            {"$set": {key: value for key, value in doc.items() if key != "_id"}},
        )
        if result.matched_count == 1:
            vulnerability.version += 1
            return True
        return False

    async def on_hosts(self, org_id: str, live: bool, hosts: Iterable[str]) -> list[Vulnerability]:
        listed = sorted(set(hosts))
        found: list[Vulnerability] = []
        for start in range(0, len(listed), HOST_BATCH):
            query = {"org_id": org_id, "live": live, "host": {"$in": listed[start : start + HOST_BATCH]}}
            found.extend([from_doc(doc) async for doc in self._records.find(query)])
        return found

    async def seen_by(self, org_id: str, live: bool, scan_id: str) -> dict[str, Severity]:
        """The records this scan's findings were recorded on, with the severity each finding had."""
        query = {"org_id": org_id, "live": live, "scan_id": scan_id}
        return {
            marker["vulnerability_id"]: Severity(marker["severity"])
            async for marker in self._sightings.find(query)
        }

    async def resolved_by(self, org_id: str, live: bool, scan_id: str) -> int:
        return await self._records.count_documents(
            {"org_id": org_id, "live": live, "resolved_scan_id": scan_id, "status": Status.RESOLVED.value}
        )

    async def find(
        self,
        where: VulnerabilityFilter,
        order: VulnerabilityOrder,
        skip: int,
        limit: int,
        after_key: int | None,
    ) -> tuple[list[tuple[Vulnerability, int]], int]:
        """A page and how many match; ``after_key`` is keyset paging on ``first_seen_key``."""
        query = await self._query(where)
        total = await self._records.count_documents(query)
        if after_key is not None:  # keyset paging: first_seen order only
            bounds = dict(query.get("first_seen_key", {}))
            if order.descending:
                bounds["$lt"] = min(after_key, bounds.get("$lt", after_key))
            else:
                bounds["$gt"] = after_key
            query["first_seen_key"] = bounds
        direction = DESCENDING if order.descending else ASCENDING
        key = SORT_FIELDS[order.sort]
        sort = (
            [(key, direction)]
            if key == "first_seen_key"
            else [(key, direction), ("first_seen_key", direction)]
        )
        cursor = self._records.find(query).sort(sort).skip(skip).limit(limit)
        return [(from_doc(doc), int(doc["first_seen_key"])) async for doc in cursor], total

    async def _query(self, where: VulnerabilityFilter) -> dict[str, Any]:
        query: dict[str, Any] = {"org_id": where.org_id, "live": where.live}
        if where.severities:
            query["severity"] = {"$in": sorted(s.value for s in where.severities)}
        if where.statuses:
            query["status"] = {"$in": sorted(s.value for s in where.statuses)}
        if where.kev is not None:
            query["kev"] = where.kev
        if where.cve:
            query["cve"] = where.cve
        if where.host:
            query["host"] = where.host
        if where.port:
            query["port"] = where.port
        if where.type is not None:
            query["type"] = where.type.value
        if where.scan_id:
            ids = list(await self.seen_by(where.org_id, where.live, where.scan_id))
            query["_id"] = {"$in": ids}
        bounds = {
            op: value for op, value in (("$gte", where.min_key), ("$lt", where.max_key)) if value is not None
        }
        if bounds:
            query["first_seen_key"] = bounds
        return query


def _observation_doc(seen: Observation) -> Document:
    return {
        "type": seen.type.value,
        "subject": seen.subject,
        "cve": seen.cve,
        "rule_id": seen.rule_id,
        "title": seen.title,
        "severity": seen.severity.value,
        "description": seen.description,
        "remediation": seen.remediation,
        "cvss_score": seen.cvss_score,
        "cvss_vector": seen.cvss_vector,
        "cwe": list(seen.cwe),
        "references": list(seen.references),
        "evidence": dict(seen.evidence),
        "confidence": seen.confidence.value,
        "kev": seen.kev,
        "epss": seen.epss,
        "priority": seen.priority,
        "service": seen.service,
        "cpe": seen.cpe,
    }


def to_doc(v: Vulnerability) -> Document:
    return {
        "_id": v.vulnerability_id,
        "fingerprint": v.fingerprint,
        "org_id": v.org_id,
        "live": v.live,
        "host": v.host,
        "port": v.port,
        "protocol": v.protocol,
        **_observation_doc(v.observation),
        **sort_keys(v),
        "first_seen": v.first_seen.isoformat(),
        "last_seen": v.last_seen.isoformat(),
        "first_scan_id": v.first_scan_id,
        "last_scan_id": v.last_scan_id,
        "status": v.status.value,
        "sightings": [{"scan_id": s.scan_id, "at": s.at.isoformat()} for s in v.sightings],
        "sightings_total": v.sightings_total,
        "resolution": v.resolution,
        "resolved_scan_id": v.resolved_scan_id,
        "accepted_until": v.accepted_until.isoformat() if v.accepted_until else "",
        "assignee": v.assignee,
        "history": [
            {
                "kind": e.kind.value,
                "actor": e.actor,
                "at": e.at.isoformat(),
                "before": e.before,
                "after": e.after,
                "note": e.note,
                "scan_id": e.scan_id,
            }
            for e in v.history
        ],
        "updated_at": (v.updated_at or v.last_seen).isoformat(),
        "version": v.version,
    }


def _time(value: object) -> datetime:
    found = read_time(value)
    if found is None:
        raise ValueError("a stored record lacks a time it must have")
    return found


def from_doc(doc: Document) -> Vulnerability:
    score = doc.get("cvss_score")
    epss = doc.get("epss")
    observation = Observation(
        type=FindingType(doc["type"]),
        subject=doc["subject"],
        title=doc.get("title", ""),
        severity=Severity(doc["severity"]),
        description=doc.get("description", ""),
        remediation=doc.get("remediation", ""),
        cvss_score=float(score) if score is not None else None,
        cvss_vector=doc.get("cvss_vector", ""),
        cwe=tuple(doc.get("cwe", ())),
        references=tuple(doc.get("references", ())),
        evidence={str(k): str(v) for k, v in (doc.get("evidence") or {}).items()},
        confidence=Confidence(doc.get("confidence", Confidence.CONFIRMED.value)),
        kev=bool(doc.get("kev", False)),
        epss=float(epss) if epss is not None else None,
        priority=doc.get("priority", ""),
        service=doc.get("service", ""),
        cpe=doc.get("cpe", ""),
    )
    return Vulnerability(
        vulnerability_id=doc["_id"],
        fingerprint=doc["fingerprint"],
        org_id=doc["org_id"],
        live=bool(doc["live"]),
        host=doc["host"],
        port=int(doc["port"]),
        protocol=doc["protocol"],
        observation=observation,
        first_seen=_time(doc["first_seen"]),
        last_seen=_time(doc["last_seen"]),
        first_scan_id=doc.get("first_scan_id", ""),
        last_scan_id=doc.get("last_scan_id", ""),
        status=Status(doc["status"]),
        sightings=[SightingEntry(s["scan_id"], _time(s["at"])) for s in doc.get("sightings", ())],
        sightings_total=int(doc.get("sightings_total", 0)),
        resolution=doc.get("resolution", ""),
        resolved_scan_id=doc.get("resolved_scan_id", ""),
        accepted_until=read_time(doc.get("accepted_until")),
        assignee=doc.get("assignee", ""),
        history=[
            HistoryEntry(
                Change(e["kind"]),
                e["actor"],
                _time(e["at"]),
                e.get("before", ""),
                e.get("after", ""),
                e.get("note", ""),
                e.get("scan_id", ""),
            )
            for e in doc.get("history", ())
        ],
        updated_at=read_time(doc.get("updated_at")),
        version=int(doc.get("version", 0)),
    )
