"""Where incidents are stored: the only module knowing their fields."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from rampart.lib.store import Document, read_time
from rampart_threat.assets.domain import Asset
from rampart_threat.incidents.domain import (
    Change,
    Comment,
    Incident,
    LinkedAsset,
    Severity,
    Status,
    TimelineEntry,
    Triage,
)

STATUS_RANK = {status: rank for rank, status in enumerate(Status)}
SORT_FIELDS = {
    "created_at": "sort_key",
    "severity": "severity_rank",
    "status": "status_rank",
    "due_at": "due_key",
}


def micros(value: datetime) -> int:
    return int(value.timestamp() * 1_000_000)


@dataclass(frozen=True)
class IncidentFilter:
    """A listing's filters; numeric keys are creation times in microseconds times 1000 (docs/store.md)."""

    org_id: str
    status: Status | None = None
    severity: Severity | None = None
    assignee: str = ""
    min_key: int | None = None  # created at or after
    max_key: int | None = None  # created before


@dataclass(frozen=True)
class IncidentOrder:
    field: str = "created_at"
    descending: bool = True


class IncidentRepository(Protocol):
    async def add(self, incident: Incident, sort_key: int) -> bool: ...  # False: the id exists

    async def get(self, org_id: str, incident_id: str) -> Incident | None: ...

    async def save(self, incident: Incident) -> bool: ...  # False: changed by someone else meanwhile

    async def find(
        self, where: IncidentFilter, order: IncidentOrder, skip: int, limit: int, after_key: int | None = None
    ) -> tuple[list[tuple[Incident, int]], int]: ...


class MongoIncidentRepository:
    """One document per incident in ``incidents``; its comments and timeline live inside it.

    Every change is a whole-document replace guarded by ``version``, a single-document atomic
    write (the local store has no transactions): two concurrent edits cannot both win.
    """

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._incidents = db["incidents"]

    async def create_indexes(self) -> None:
        for key in SORT_FIELDS.values():
            await self._incidents.create_index([("org_id", ASCENDING), (key, DESCENDING)])

    async def add(self, incident: Incident, sort_key: int) -> bool:
        try:
            await self._incidents.insert_one({**incident_doc(incident), "sort_key": sort_key})
        except DuplicateKeyError:
            return False
        return True

    async def get(self, org_id: str, incident_id: str) -> Incident | None:
        doc = await self._incidents.find_one({"_id": incident_id, "org_id": org_id})
        return incident_from_doc(doc) if doc is not None else None

    async def save(self, incident: Incident) -> bool:
        doc = incident_doc(incident)
        doc["version"] = incident.version + 1
        result = await self._incidents.update_one(
            {"_id": incident.incident_id, "org_id": incident.org_id, "version": incident.version},
            {"$set": {key: value for key, value in doc.items() if key != "_id"}},
        )
        if result.matched_count == 1:
            incident.version += 1
            return True
        return False

    async def find(
        self, where: IncidentFilter, order: IncidentOrder, skip: int, limit: int, after_key: int | None = None
    ) -> tuple[list[tuple[Incident, int]], int]:
        query: dict[str, Any] = {"org_id": where.org_id}
        if where.status is not None:
            query["status"] = where.status.value
        if where.severity is not None:
            query["severity"] = where.severity.value
        if where.assignee:
            query["assignee"] = where.assignee
        upper, lower = where.max_key, where.min_key
        total_query = dict(query)
        if upper is not None or lower is not None:
            total_query["sort_key"] = _bounds(lower, upper, None)
        total = await self._incidents.count_documents(total_query)
        if after_key is not None and order.descending:  # keyset paging, creation order only
            upper = after_key if upper is None else min(after_key, upper)
        bounds = _bounds(lower, upper, after_key if after_key is not None and not order.descending else None)
        if bounds:
            query["sort_key"] = bounds
        direction = DESCENDING if order.descending else ASCENDING
        key = SORT_FIELDS[order.field]
        sort = [(key, direction)] if key == "sort_key" else [(key, direction), ("sort_key", direction)]
        cursor = self._incidents.find(query).sort(sort).skip(skip).limit(limit)
        return [(incident_from_doc(doc), int(doc["sort_key"])) async for doc in cursor], total


def _bounds(lower: int | None, upper: int | None, after: int | None) -> dict[str, int]:
    """A sort_key range: at or after ``lower``, before ``upper``, strictly after ``after``."""
    ops = (("$gte", lower), ("$lt", upper), ("$gt", after))
    return {op: value for op, value in ops if value is not None}


def asset_doc(asset: Asset) -> Document:
    return {
        "asset_id": asset.asset_id,
        "host": asset.host,
        "open_ports": list(asset.open_ports),
        "last_scan_id": asset.last_scan_id,
        "last_seen": asset.last_seen.isoformat() if asset.last_seen else "",
    }


def incident_doc(incident: Incident) -> Document:
    triage = incident.triage
    return {
        "_id": incident.incident_id,
        "org_id": incident.org_id,
        "user_id": incident.user_id,
        "title": incident.title,
        "severity": incident.severity.value,
        "severity_rank": incident.severity.rank,
        "status": incident.status.value,
        "status_rank": STATUS_RANK[incident.status],
        "description": incident.description,
        "affected_systems": list(incident.affected_systems),
        "related_findings": list(incident.related_findings),
        "related_analyses": list(incident.related_analyses),
        "assignee": incident.assignee,
        "rule_id": incident.rule_id,
        "created_at": incident.created_at,
        "updated_at": (incident.updated_at or incident.created_at).isoformat(),
        "due_key": micros(triage.due_at) if triage.due_at else 0,
        "triage": {
            "assets": [{**asset_doc(link.asset), "matched": link.matched} for link in triage.assets],
            "unresolved": list(triage.unresolved),
            "priority": triage.priority,
            "due_at": triage.due_at.isoformat() if triage.due_at else "",
            "next_steps": list(triage.next_steps),
            "notes": list(triage.notes),
        },
        "comments": [
            {"_id": c.comment_id, "author": c.author, "body": c.body, "at": c.created_at.isoformat()}
            for c in incident.comments
        ],
        "timeline": [
            {
                "kind": e.kind.value,
                "actor": e.actor,
                "at": e.at.isoformat(),
                "before": e.before,
                "after": e.after,
                "reason": e.reason,
            }
            for e in incident.timeline
        ],
        "version": incident.version,
    }


def incident_from_doc(doc: Document) -> Incident:
    triage = doc.get("triage") or {}
    created = read_time(doc["created_at"])
    assert created is not None
    return Incident(
        incident_id=doc["_id"],
        org_id=doc["org_id"],
        user_id=doc.get("user_id", ""),
        title=doc["title"],
        severity=Severity(doc["severity"]),
        description=doc.get("description", ""),
        created_at=created,
        affected_systems=tuple(doc.get("affected_systems", ())),
        related_findings=tuple(doc.get("related_findings", ())),
        related_analyses=tuple(doc.get("related_analyses", ())),
        status=Status(doc["status"]),
        assignee=doc.get("assignee", ""),
        rule_id=doc.get("rule_id", ""),
        triage=Triage(
            assets=tuple(
                LinkedAsset(
                    Asset(
                        a["asset_id"],
                        a["host"],
                        tuple(a.get("open_ports", ())),
                        a.get("last_scan_id", ""),
                        read_time(a.get("last_seen")),
                    ),
                    a.get("matched", ""),
                )
                for a in triage.get("assets", ())
            ),
            unresolved=tuple(triage.get("unresolved", ())),
            priority=triage.get("priority", ""),
            due_at=read_time(triage.get("due_at")),
            next_steps=tuple(triage.get("next_steps", ())),
            notes=tuple(triage.get("notes", ())),
        ),
        comments=[
            Comment(c["_id"], c["author"], c["body"], read_time(c["at"]) or created)
            for c in doc.get("comments", ())
        ],
        timeline=[
            TimelineEntry(
                Change(e["kind"]),
                e["actor"],
                read_time(e["at"]) or created,
                e.get("before", ""),
                e.get("after", ""),
                e.get("reason", ""),
            )
            for e in doc.get("timeline", ())
        ],
        updated_at=read_time(doc.get("updated_at")),
        version=int(doc.get("version", 0)),
    )
