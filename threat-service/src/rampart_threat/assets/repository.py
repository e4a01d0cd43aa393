"""Where assets are stored: the only module knowing their document fields."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from rampart.lib.store import Document, read_time
from rampart_threat.assets.domain import (
    SEVERITY_RANK,
    Asset,
    AssetRecord,
    PortChange,
    PortHistory,
    PortRecord,
    ScanSeen,
    Service,
)
from rampart_threat.assets.oshint import OsClue

COLLECTION = "asset_inventory"
MAX_NETWORK_SCAN = 10_000  # assets read to answer a CIDR entry
COUNT_CAP = 999  # per severity, in the findings sort key
# Sort orders and their stored keys; all numeric but ``host`` (docs/store.md: ranges only on numbers).
SORT_KEYS = {
    "last_seen": "last_seen_key",
    "first_seen": "first_seen_key",
    "findings": "findings_key",
    "host": "host",
}


def micros(value: datetime | None) -> int:
    return int(value.timestamp() * 1_000_000) if value else 0


def findings_key(counts: dict[str, int]) -> int:
    """Orders assets by their open findings: more criticals first, then more highs, and so on."""
    return sum(
        min(count, COUNT_CAP) * (COUNT_CAP + 1) ** (SEVERITY_RANK[name] - 1) for name, count in counts.items()
    )


@dataclass(frozen=True)
class AssetFilter:
    """A listing's filters; every one is optional but the organisation and live or test."""

    org_id: str
    live: bool = True
    text: str = ""  # contained in the host or one of its names (case-insensitive)
    port: int = 0  # open now
    service: str = ""  # detected on an open port now (name, case-insensitive)
    os: str = ""  # contained in the OS hint (case-insensitive)
    has_findings: bool | None = None
    min_severity: str = ""  # an open finding at least this severe
    seen_after: datetime | None = None  # last seen at or after
    seen_before: datetime | None = None  # last seen before


@dataclass(frozen=True)
class AssetOrder:
    field: str = "last_seen"
    descending: bool = True


@dataclass(frozen=True)
class After:
    """Where the previous page ended: its last row's sort value and id (numeric orders)."""

    key: int
    asset_id: str


class AssetRepository(Protocol):
    async def get(self, org_id: str, live: bool, asset_id: str) -> AssetRecord | None: ...

    async def save(
        self, record: AssetRecord
    ) -> bool: ...  # False: stored or changed by someone else meanwhile

    async def select(
        self, where: AssetFilter, order: AssetOrder, skip: int, limit: int, after: After | None = None
    ) -> tuple[list[tuple[AssetRecord, int]], int]: ...

    async def find(
        self, org_id: str, asset_ids: tuple[str, ...], hosts: tuple[str, ...], networks: bool
    ) -> list[Asset]: ...  # live assets by id or host (incidents, analyses); every one with networks

    async def hosts_seen_by(self, org_id: str, live: bool, scan_id: str) -> list[str]: ...  # the scan's hosts


class MongoAssetRepository:
    """One document per (organisation, live or test, host) in ``asset_inventory``.

    Every change is a whole-document replace guarded by ``version``: a single-document atomic write
    (the local store has no transactions), so two consumers applying events together cannot both win.
    """

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._assets = db[COLLECTION]

    async def create_indexes(self) -> None:
        await self._assets.create_index([("org_id", ASCENDING), ("live", ASCENDING), ("host", ASCENDING)])
        for key in ("last_seen_key", "first_seen_key", "findings_key"):
            await self._assets.create_index([("org_id", ASCENDING), ("live", ASCENDING), (key, DESCENDING)])

    async def get(self, org_id: str, live: bool, asset_id: str) -> AssetRecord | None:
        doc = await self._assets.find_one({"_id": asset_id, "org_id": org_id, "live": live})
        return record_from_doc(doc) if doc is not None else None

    async def save(self, record: AssetRecord) -> bool:
        doc = record_doc(record)
        doc["version"] = record.version + 1
        if record.version == 0:
            try:
                await self._assets.insert_one(doc)
            except DuplicateKeyError:
                return False
        else:
            result = await self._assets.replace_one(
                {"_id": record.asset_id, "org_id": record.org_id, "version": record.version}, doc
            )
            if result.matched_count != 1:
                return False
        record.version += 1
        return True

    async def select(
        self, where: AssetFilter, order: AssetOrder, skip: int, limit: int, after: After | None = None
    ) -> tuple[list[tuple[AssetRecord, int]], int]:
        query = filter_query(where)
        total = await self._assets.count_documents(query)
        key = SORT_KEYS[order.field]
        direction = DESCENDING if order.descending else ASCENDING
        ties = 0
        if after is not None and key != "host":
            query = {**query, key: {"$lte" if order.descending else "$gte": after.key}}
            ties = await self._assets.count_documents({**query, key: after.key})
        cursor = self._assets.find(query).sort([(key, direction), ("_id", direction)]).skip(skip)
        rows: list[tuple[AssetRecord, int]] = []
        async for doc in cursor.limit(limit + ties):
            if after is not None and key != "host" and past(doc, key, after, order.descending):
                continue
            rows.append((record_from_doc(doc), int(doc.get(key, 0)) if key != "host" else 0))
            if len(rows) == limit:
                break
        return rows, total

    async def find(
        self, org_id: str, asset_ids: tuple[str, ...], hosts: tuple[str, ...], networks: bool
    ) -> list[Asset]:
        found: dict[str, Asset] = {}
        scope = {"org_id": org_id, "live": True}
        if networks:
            async for doc in self._assets.find(scope).limit(MAX_NETWORK_SCAN):
                found[doc["_id"]] = record_from_doc(doc).summary()
        else:
            for field_name, values in (("_id", asset_ids), ("host", hosts)):
                if values:
                    async for doc in self._assets.find({**scope, field_name: {"$in": list(values)}}):
                        found[doc["_id"]] = record_from_doc(doc).summary()
        return list(found.values())

    async def hosts_seen_by(self, org_id: str, live: bool, scan_id: str) -> list[str]:
        query = {"org_id": org_id, "live": live, "scans.scan_id": scan_id}
        return sorted({doc["host"] async for doc in self._assets.find(query, {"host": 1})})


def past(doc: Document, key: str, after: After, descending: bool) -> bool:
    """Whether a row tying with the cursor's value was on an earlier page (ids order the ties)."""
    if int(doc.get(key, 0)) != after.key:
        return False
    return bool(doc["_id"] >= after.asset_id) if descending else bool(doc["_id"] <= after.asset_id)


def filter_query(where: AssetFilter) -> dict[str, Any]:
    query: dict[str, Any] = {"org_id": where.org_id, "live": where.live}
    if where.text:
        query["search"] = {"$regex": re.escape(where.text.lower())}
    if where.port:
        query["open_ports"] = where.port
    if where.service:
        query["services"] = where.service.lower()
    if where.os:
        query["os_name"] = {"$regex": re.escape(where.os.lower())}
    if where.has_findings is not None:
        query["findings_total"] = {"$gt": 0} if where.has_findings else 0
    if where.min_severity:
        query["severity_rank"] = {"$gte": SEVERITY_RANK[where.min_severity]}
    seen: dict[str, int] = {}
    if where.seen_after is not None:
        seen["$gte"] = micros(where.seen_after)
    if where.seen_before is not None:
        seen["$lt"] = micros(where.seen_before)
    if seen:
        query["last_seen_key"] = seen
    return query


def _time(value: datetime | None) -> str:
    return value.isoformat() if value else ""


def _read(value: object) -> datetime:
    found = read_time(value)
    assert found is not None, "a stored asset time is missing"
    return found


def record_doc(record: AssetRecord) -> Document:
    os = record.os
    return {
        "_id": record.asset_id,
        "org_id": record.org_id,
        "live": record.live,
        "host": record.host,
        "names": list(record.names),
        "search": [record.host, *record.names],
        "open_ports": sorted({p.port for p in record.open_ports()}),
        "services": list(record.services()),
        "os_name": os.name.lower(),
        "findings": dict(record.findings),
        "findings_total": record.findings_total,
        "severity_rank": SEVERITY_RANK.get(record.worst_severity, 0),
        "findings_key": findings_key(record.findings),
        "first_seen": _time(record.first_seen),
        "last_seen": _time(record.last_seen),
        "first_seen_key": micros(record.first_seen),
        "last_seen_key": micros(record.last_seen),
        "scans": [{"scan_id": s.scan_id, "at": s.at.isoformat()} for s in record.scans],
        "ports": [port_doc(p) for p in record.ports.values()],
        "history": [
            {
                "at": h.at.isoformat(),
                "scan_id": h.scan_id,
                "port": h.port,
                "protocol": h.protocol,
                "change": h.change.value,
                "before": h.before,
                "after": h.after,
            }
            for h in record.history
        ],
    }


def port_doc(port: PortRecord) -> Document:
    service = port.service
    return {
        "port": port.port,
        "protocol": port.protocol,
        "open": port.is_open,
        "since": port.since.isoformat(),
        "first_seen": port.first_seen.isoformat(),
        "last_seen": port.last_seen.isoformat(),
        "last_scan_id": port.last_scan_id,
        "service": {
            "name": service.name,
            "product": service.product,
            "version": service.version,
            "cpe": service.cpe,
            "tls": service.tls,
        },
        "os_clue": {"name": port.os_clue.name, "evidence": port.os_clue.evidence} if port.os_clue else None,
    }


def record_from_doc(doc: Document) -> AssetRecord:
    ports = [port_from_doc(p) for p in doc.get("ports", ())]
    return AssetRecord(
        asset_id=doc["_id"],
        org_id=doc["org_id"],
        live=bool(doc["live"]),
        host=doc["host"],
        names=tuple(doc.get("names", ())),
        first_seen=read_time(doc.get("first_seen")),
        last_seen=read_time(doc.get("last_seen")),
        ports={p.key: p for p in ports},
        scans=[ScanSeen(s["scan_id"], _read(s["at"])) for s in doc.get("scans", ())],
        history=[
            PortHistory(
                _read(h["at"]),
                h["scan_id"],
                int(h["port"]),
                h["protocol"],
                PortChange(h["change"]),
                h.get("before", ""),
                h.get("after", ""),
            )
            for h in doc.get("history", ())
        ],
        findings={name: int(count) for name, count in (doc.get("findings") or {}).items()},
        version=int(doc.get("version", 0)),
    )


def port_from_doc(doc: Document) -> PortRecord:
    service = doc.get("service") or {}
    found = doc.get("os_clue")
    return PortRecord(
        port=int(doc["port"]),
        protocol=doc["protocol"],
        is_open=bool(doc["open"]),
        since=_read(doc["since"]),
        first_seen=_read(doc["first_seen"]),
        last_seen=_read(doc["last_seen"]),
        last_scan_id=doc.get("last_scan_id", ""),
        service=Service(
            service.get("name", ""),
            service.get("product", ""),
            service.get("version", ""),
            service.get("cpe", ""),
            bool(service.get("tls", False)),
        ),
        os_clue=OsClue(found["name"], found["evidence"]) if found else None,
    )
