"""Where reports and their files are stored: the only module that knows their document fields.

Times are epoch seconds (the local store range-queries numbers only, docs/store.md). A worker
claims a report with a lease (``worker``, ``lease_until``); a worker that dies leaves a lease that
runs out. Files are GridFS files whose ``_id`` is the report id, so a second attempt at a report
replaces the first one's leftovers instead of adding a file.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from typing import Any

from gridfs import AsyncGridFSBucket
from gridfs.errors import NoFile
from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

from rampart.lib.store import Document
from rampart_report.reports.model import (
    Report,
    ReportFormat,
    ReportRequest,
    ReportStatus,
    ReportType,
    Section,
    StoredFile,
    Tenant,
)
from rampart_report.reports.ports import Claim, Filters
from rampart_report.reports.scope import Scope

COLLECTION = "reports"
BUCKET = "report_files"
CHUNK_BYTES = 255 * 1024


def _ts(moment: datetime) -> float:
    return moment.timestamp()


def _time(value: Any) -> datetime | None:
    return datetime.fromtimestamp(float(value), UTC) if value is not None else None


def _doc(report: Report) -> Document:
    request = report.request
    return {
        "_id": report.report_id,
        "org_id": report.tenant.org_id,
        "user_id": report.tenant.user_id,
        "sandbox": report.tenant.sandbox,
        "type": request.report_type.value,
        "format": request.format.value,
        "scan_ids": list(request.scan_ids),
        "asked_sections": list(request.sections),
        "title": request.title,
        "frameworks": list(request.frameworks),
        "scope": _scope_doc(request.scope),
        "created_at": _ts(report.created_at),
        "expires_at": _ts(report.expires_at),
        "status": report.status.value,
        "progress": report.progress,
        "attempts": report.attempts,
        "worker": "",
        "lease_until": 0.0,
    }


def _scope_doc(scope: Scope | None) -> Document | None:
    if scope is None:
        return None
    return {
        "assets": list(scope.assets),
        "hosts": list(scope.hosts),
        "from": _ts(scope.period_from) if scope.period_from else None,
        "to": _ts(scope.period_to) if scope.period_to else None,
        "last_days": scope.last_days,
    }


def _scope(doc: Document | None) -> Scope | None:
    if not doc:
        return None
    return Scope(
        tuple(doc.get("assets", ())),
        _time(doc.get("from")),
        _time(doc.get("to")),
        int(doc.get("last_days", 0)),
        tuple(doc.get("hosts", ())),
    )


def _report(doc: Document) -> Report:
    file = doc.get("file")
    created, expires = _time(doc["created_at"]), _time(doc["expires_at"])
    assert created is not None
    assert expires is not None
    return Report(
        report_id=doc["_id"],
        tenant=Tenant(doc["org_id"], doc.get("user_id", ""), bool(doc.get("sandbox"))),
        request=ReportRequest(
            ReportType(doc["type"]),
            ReportFormat(doc["format"]),
            tuple(doc.get("scan_ids", ())),
            tuple(doc.get("asked_sections", ())),
            doc.get("title", ""),
            tuple(doc.get("frameworks", ())),
            _scope(doc.get("scope")),
        ),
        created_at=created,
        expires_at=expires,
        status=ReportStatus(doc["status"]),
        progress=int(doc.get("progress", 0)),
        sections=tuple(
            Section(s["name"], bool(s["included"]), s.get("note", ""), s.get("source", ""))
            for s in doc.get("sections", ())
        ),
        file=StoredFile(file["filename"], file["content_type"], int(file["size"]), file["sha256"])
        if file
        else None,
        ready_at=_time(doc.get("ready_at")),
        error=doc.get("error", ""),
        attempts=int(doc.get("attempts", 0)),
    )


def _tenancy(tenant: Tenant) -> Document:
    return {"org_id": tenant.org_id, "sandbox": tenant.sandbox}


class MongoReportRepository:
    """``ReportRepository`` on the ``reports`` collection."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._reports = db[COLLECTION]

    async def create_indexes(self) -> None:
        await self._reports.create_index([("org_id", ASCENDING), ("created_at", DESCENDING)])
        await self._reports.create_index([("expires_at", ASCENDING)])

    async def add(self, report: Report) -> None:
        await self._reports.insert_one(_doc(report))

    async def get(self, tenant: Tenant, report_id: str, now: datetime) -> Report | None:
        doc = await self._reports.find_one(
            {"_id": report_id, **_tenancy(tenant), "expires_at": {"$gt": _ts(now)}}
        )
        return _report(doc) if doc else None

    async def load(self, report_id: str) -> Report | None:
        doc = await self._reports.find_one({"_id": report_id})
        return _report(doc) if doc else None

    async def page(
        self, tenant: Tenant, filters: Filters, offset: int, limit: int, now: datetime
    ) -> list[Report]:
        query: Document = {**_tenancy(tenant), "expires_at": {"$gt": _ts(now)}}
        if filters.report_type is not None:
            query["type"] = filters.report_type.value
        if filters.status is not None:
            query["status"] = filters.status.value
        if filters.scan_id:
            query["scan_ids"] = filters.scan_id
        cursor = self._reports.find(query).sort([("created_at", DESCENDING), ("_id", DESCENDING)])
        return [_report(doc) async for doc in cursor.skip(offset).limit(limit)]

    async def claim(self, report_id: str, worker: str, now: datetime, lease_until: datetime) -> Claim:
        claimable = {
            "_id": report_id,
            "$or": [
                {"status": ReportStatus.PENDING.value},
                {"status": ReportStatus.RUNNING.value, "worker": worker},
                {"status": ReportStatus.RUNNING.value, "lease_until": {"$lte": _ts(now)}},
            ],
        }
        doc = await self._reports.find_one_and_update(
            claimable,
            {
                "$set": {
                    "status": ReportStatus.RUNNING.value,
                    "worker": worker,
                    "lease_until": _ts(lease_until),
                },
                "$inc": {"attempts": 1},
            },
            return_document=ReturnDocument.AFTER,
        )
        if doc is not None:
            return Claim(_report(doc), True)
        return Claim(await self.load(report_id), False)

    async def renew(self, report_id: str, worker: str, lease_until: datetime) -> bool:
        result = await self._reports.update_one(
            {"_id": report_id, "worker": worker, "status": ReportStatus.RUNNING.value},
            {"$set": {"lease_until": _ts(lease_until)}},
        )
        return result.matched_count == 1

    async def set_progress(self, report_id: str, worker: str, percent: int) -> None:
        await self._reports.update_one({"_id": report_id, "worker": worker}, {"$set": {"progress": percent}})

    async def complete(
        self, report_id: str, worker: str, file: StoredFile, sections: tuple[Section, ...], now: datetime
    ) -> Report | None:
        doc = await self._reports.find_one_and_update(
            {"_id": report_id, "worker": worker, "status": ReportStatus.RUNNING.value},
            {
                "$set": {
                    "status": ReportStatus.READY.value,
                    "progress": 100,
                    "ready_at": _ts(now),
                    "lease_until": 0.0,
                    "file": {
                        "filename": file.filename,
                        "content_type": file.content_type,
                        "size": file.size,
                        "sha256": file.sha256,
                    },
                    "sections": [
                        {"name": s.name, "included": s.included, "note": s.note, "source": s.source}
                        for s in sections
                    ],
                }
            },
            return_document=ReturnDocument.AFTER,
        )
        return _report(doc) if doc else None

    async def fail(self, report_id: str, error: str, now: datetime) -> Report | None:
        await self._reports.update_one(
            {"_id": report_id, "status": {"$in": [ReportStatus.PENDING.value, ReportStatus.RUNNING.value]}},
            {"$set": {"status": ReportStatus.FAILED.value, "error": error[:500], "lease_until": 0.0}},
        )
        return await self.load(report_id)

    async def delete(self, tenant: Tenant, report_id: str) -> bool:
        result = await self._reports.delete_one({"_id": report_id, **_tenancy(tenant)})
        return result.deleted_count == 1

    async def expired(self, now: datetime, limit: int) -> list[str]:
        cursor = self._reports.find({"expires_at": {"$lte": _ts(now)}}, {"_id": 1}).limit(limit)
        return [doc["_id"] async for doc in cursor]

    async def remove(self, report_id: str) -> None:
        await self._reports.delete_one({"_id": report_id})


class GridFsFiles:
    """``FileStore`` on a GridFS bucket (pymongo's AsyncGridFSBucket), one file per report."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._bucket = AsyncGridFSBucket(db, bucket_name=BUCKET, chunk_size_bytes=CHUNK_BYTES)
        self._files = db[f"{BUCKET}.files"]
        self._chunks = db[f"{BUCKET}.chunks"]

    async def put(self, file_id: str, filename: str, content: bytes, content_type: str) -> None:
        await self.delete(file_id)  # what an attempt that died mid-upload left
        await self._bucket.upload_from_stream_with_id(
            file_id, filename, content, metadata={"content_type": content_type}
        )

    async def read(self, file_id: str, offset: int, length: int) -> bytes:
        try:
            stream = await self._bucket.open_download_stream(file_id)
        except NoFile as error:
            raise FileNotFoundError(file_id) from error
        try:
            await stream.seek(offset)
            return await stream.read(length)
        finally:
            await stream.close()

    async def delete(self, file_id: str) -> None:
        # Chunks first: an upload that died leaves chunks and no files document. nx-27017 answers
        # a delete of an absent GridFS file with an error (MongoDB with NoFile), hence the check.
        await self._chunks.delete_many({"files_id": file_id})
        if await self._files.find_one({"_id": file_id}, {"_id": 1}) is not None:
            with contextlib.suppress(NoFile):
                await self._bucket.delete(file_id)
