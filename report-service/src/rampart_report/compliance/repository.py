"""Where compliance state is stored: the only compliance module that knows its document fields.

Every document carries ``org_id`` and ``mode`` (live / test) and every query filters on both.
Times that are range-queried or sorted are also stored as numbers (``*_key``): the local store
cannot compare dates (docs/store.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bson import Binary
from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from rampart.lib.ids import new_id
from rampart.lib.store import Document, read_time
from rampart_report.compliance.domain import (
    Attestation,
    ControlChange,
    EvidenceFile,
    Snapshot,
    Status,
    Tenant,
)


def _micros(at: datetime) -> int:
    return int(at.timestamp() * 1_000_000)


def _scope(tenant: Tenant) -> dict[str, Any]:
    return {"org_id": tenant.org_id, "mode": tenant.mode}


def _time(value: object) -> datetime:
    at = read_time(value)
    if at is None:
        raise ValueError("a stored compliance time is missing")
    return at


class MongoComplianceRepository:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._attestations = db["compliance_attestations"]
        self._changes = db["compliance_changes"]
        self._evidence = db["compliance_evidence"]
        self._snapshots = db["compliance_snapshots"]

    async def create_indexes(self) -> None:
        await self._changes.create_index(
            [("org_id", ASCENDING), ("mode", ASCENDING), ("control_id", ASCENDING), ("at_key", ASCENDING)]
        )
        await self._evidence.create_index(
            [("org_id", ASCENDING), ("mode", ASCENDING), ("control_id", ASCENDING)]
        )
        await self._snapshots.create_index(
            [("org_id", ASCENDING), ("mode", ASCENDING), ("day_key", ASCENDING)]
        )

    async def attestations(self, tenant: Tenant) -> dict[str, Attestation]:
        found: dict[str, Attestation] = {}
        async for doc in self._attestations.find(_scope(tenant)):
            status = doc.get("status") or ""
            found[doc["control_id"]] = Attestation(
                doc["control_id"],
                Status(status) if status else None,
                doc.get("note", ""),
                doc.get("owner", ""),
                doc.get("updated_by", ""),
                _time(doc.get("updated_at")),
            )
        return found

    async def attest(self, tenant: Tenant, attestation: Attestation) -> None:
        key = f"{tenant.org_id}:{tenant.mode}:{attestation.control_id}"
        await self._attestations.update_one(
            {"_id": key, **_scope(tenant)},
            {
                "$set": {
                    **_scope(tenant),
                    "control_id": attestation.control_id,
                    "status": attestation.status.value if attestation.status else "",
                    "note": attestation.note,
                    "owner": attestation.owner,
                    "updated_by": attestation.updated_by,
                    "updated_at": attestation.updated_at,
                }
            },
            upsert=True,
        )

    async def add_change(self, tenant: Tenant, change: ControlChange) -> bool:
        try:
            await self._insert_change(tenant, change)
        except DuplicateKeyError:
            return False
        return True

    async def _insert_change(self, tenant: Tenant, change: ControlChange) -> None:
        await self._changes.insert_one(
            {
                "_id": change.change_id or new_id("chg"),
                **_scope(tenant),
                "control_id": change.control_id,
                "at": change.at,
                "at_key": _micros(change.at),
                "actor": change.actor,
                "from": change.from_status,
                "to": change.to_status,
                "note": change.note,
                "owner": change.owner,
            }
        )

    async def changes(self, tenant: Tenant, control_id: str, limit: int) -> list[ControlChange]:
        cursor = (
            self._changes.find({**_scope(tenant), "control_id": control_id})
            .sort("at_key", DESCENDING)
            .limit(limit)
        )
        found = [
            ControlChange(
                doc["control_id"],
                _time(doc["at"]),
                doc.get("actor", ""),
                doc.get("from", ""),
                doc.get("to", ""),
                doc.get("note", ""),
                doc.get("owner", ""),
            )
            async for doc in cursor
        ]
        return found[::-1]

    async def evidence_counts(self, tenant: Tenant) -> dict[str, int]:
        counts: dict[str, int] = {}
        async for doc in self._evidence.find(_scope(tenant), {"control_id": 1}):
            counts[doc["control_id"]] = counts.get(doc["control_id"], 0) + 1
        return counts

    async def add_evidence(self, tenant: Tenant, evidence: EvidenceFile, content: bytes) -> None:
        await self._evidence.insert_one(
            {
                "_id": evidence.evidence_id,
                **_scope(tenant),
                "control_id": evidence.control_id,
                "filename": evidence.filename,
                "content_type": evidence.content_type,
                "size": evidence.size,
                "sha256": evidence.sha256,
                "verdict": evidence.verdict,
                "analysis_id": evidence.analysis_id,
                "uploaded_by": evidence.uploaded_by,
                "uploaded_at": evidence.uploaded_at,
                "uploaded_key": _micros(evidence.uploaded_at),
                "content": Binary(content),
            }
        )

    async def evidence(self, tenant: Tenant, control_id: str) -> list[EvidenceFile]:
        cursor = self._evidence.find({**_scope(tenant), "control_id": control_id}, {"content": 0}).sort(
            "uploaded_key", ASCENDING
        )
        return [
            EvidenceFile(
                doc["_id"],
                doc["control_id"],
                doc["filename"],
                doc["content_type"],
                int(doc["size"]),
                doc["sha256"],
                doc.get("verdict", ""),
                doc.get("analysis_id", ""),
                doc.get("uploaded_by", ""),
                _time(doc["uploaded_at"]),
            )
            async for doc in cursor
        ]

    async def latest_snapshot(self, tenant: Tenant) -> Snapshot | None:
        async for doc in self._snapshots.find(_scope(tenant)).sort("day_key", DESCENDING).limit(1):
            return _snapshot(doc)
        return None

    async def save_snapshot(self, tenant: Tenant, snapshot: Snapshot) -> None:
        """One document per organisation, world and day: the day's latest computation."""
        key = f"{tenant.org_id}:{tenant.mode}:{snapshot.day}"
        await self._snapshots.replace_one(
            {"_id": key},
            {
                "_id": key,
                **_scope(tenant),
                "day": snapshot.day,
                "day_key": int(snapshot.day.replace("-", "")),
                "at": snapshot.at,
                "scores": snapshot.scores,
                "statuses": [[k, v] for k, v in snapshot.statuses.items()],  # ids hold dots: no map keys
            },
            upsert=True,
        )

    async def snapshots(self, tenant: Tenant, since: datetime, until: datetime) -> Sequence[Snapshot]:
        low, high = int(since.strftime("%Y%m%d")), int(until.strftime("%Y%m%d"))
        cursor = self._snapshots.find({**_scope(tenant), "day_key": {"$gte": low, "$lte": high}}).sort(
            "day_key", ASCENDING
        )
        return [_snapshot(doc) async for doc in cursor]


def _snapshot(doc: Document) -> Snapshot:
    return Snapshot(
        doc["day"],
        _time(doc["at"]),
        {str(k): float(v) for k, v in doc.get("scores", {}).items()},
        {str(k): str(v) for k, v in doc.get("statuses", [])},
    )
