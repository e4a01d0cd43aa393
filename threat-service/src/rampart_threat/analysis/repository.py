"""Where analyses are stored (collection ``threat_analyses``): the only module knowing their fields."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any, Protocol

from pymongo import DESCENDING
from pymongo.asynchronous.database import AsyncDatabase

from rampart.lib.errors import InvalidArgument
from rampart.lib.store import Document, read_time
from rampart_threat.analysis.domain import (
    Analysis,
    AssetMatch,
    Extracted,
    FeedHit,
    Kind,
    Mode,
    Reason,
    Target,
    Verdict,
)


@dataclass(frozen=True)
class AnalysisPage:
    analyses: list[Analysis]
    next_page_token: str


class AnalysisRepository(Protocol):
    """What the analysis service needs from storage (tests use an in-memory fake)."""

    async def add(self, analysis: Analysis) -> None: ...

    async def get(self, org_id: str, analysis_id: str) -> Analysis | None: ...

    async def list(
        self, org_id: str, size: int, page_token: str, verdict: Verdict | None
    ) -> AnalysisPage: ...


def sort_key(analysis: Analysis) -> int:
    """Newest-first order as a number (µs * 1000 + tie-breaker); the store compares numbers."""
    return int(analysis.analyzed_at.timestamp() * 1_000_000) * 1000 + secrets.randbelow(1000)


def parse_token(page_token: str) -> int | None:
    if not page_token:
        return None
    if not (page_token.isascii() and page_token.isdigit()) or int(page_token) >= 2**63:
        raise InvalidArgument("page_token is not one this service issued", field="page_token")
    return int(page_token)


class MongoAnalysisRepository:
    """One document per analysis, ``_id`` = analysis id; every query carries ``org_id``."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._analyses = db["threat_analyses"]

    async def create_indexes(self) -> None:
        await self._analyses.create_index([("org_id", DESCENDING), ("sort_key", DESCENDING)])

    async def add(self, analysis: Analysis) -> None:
        await self._analyses.insert_one(to_document(analysis))

    async def get(self, org_id: str, analysis_id: str) -> Analysis | None:
        doc = await self._analyses.find_one({"_id": analysis_id, "org_id": org_id})
        return None if doc is None else from_document(doc)

    async def list(self, org_id: str, size: int, page_token: str, verdict: Verdict | None) -> AnalysisPage:
        query: dict[str, Any] = {"org_id": org_id}
        after = parse_token(page_token)
        if after is not None:
            query["sort_key"] = {"$lt": after}
        if verdict is not None:
            query["verdict"] = verdict.value
        docs = await self._analyses.find(query).sort("sort_key", DESCENDING).limit(size + 1).to_list()
        more = len(docs) > size
        docs = docs[:size]
        token = str(docs[-1]["sort_key"]) if more and docs else ""
        return AnalysisPage([from_document(doc) for doc in docs], token)


def to_document(analysis: Analysis) -> Document:
    target = analysis.target
    return {
        "_id": analysis.analysis_id,
        "org_id": analysis.org_id,
        "user_id": analysis.user_id,
        "sort_key": sort_key(analysis),
        "kind": target.kind.value,
        "subtype": target.subtype,
        "raw": target.raw[:65536],
        "normalized": target.normalized[:65536],
        "mode": analysis.mode.value,
        "risk_score": analysis.risk_score,
        "verdict": analysis.verdict.value,
        "confidence": analysis.confidence,
        "reasons": [
            {"signal": r.signal, "weight": r.weight, "evidence": r.evidence, "attack": list(r.attack)}
            for r in analysis.reasons
        ],
        "actions": list(analysis.recommended_actions),
        "extracted": [
            {"type": e.type, "value": e.value, "defanged": e.defanged, "where": e.where}
            for e in analysis.extracted
        ],
        "feed_hits": [
            {
                "source": h.source,
                "kind": h.kind,
                "value": h.value,
                "threat": h.threat,
                "first_seen": h.first_seen,
                "imported_at": h.imported_at,
            }
            for h in analysis.feed_hits
        ],
        "asset_matches": [
            {
                "asset_id": m.asset_id,
                "host": m.host,
                "open_ports": list(m.open_ports),
                "last_scan_id": m.last_scan_id,
                "last_seen": m.last_seen.isoformat() if m.last_seen else None,  # exact (the store keeps ms)
                "matched": m.matched,
                "role": m.role,
            }
            for m in analysis.asset_matches
        ],
        "limits": list(analysis.limits),
        "metadata": dict(analysis.metadata),
        "analyzed_at": analysis.analyzed_at,
        "duration_us": analysis.duration_us,
    }


def from_document(doc: Document) -> Analysis:
    return Analysis(
        analysis_id=doc["_id"],
        org_id=doc["org_id"],
        user_id=doc.get("user_id", ""),
        target=Target(Kind(doc["kind"]), doc["subtype"], doc["raw"], doc["normalized"]),
        mode=Mode(doc["mode"]),
        risk_score=int(doc["risk_score"]),
        verdict=Verdict(doc["verdict"]),
        confidence=float(doc["confidence"]),
        reasons=tuple(
            Reason(r["signal"], r["weight"], r["evidence"], tuple(r["attack"])) for r in doc["reasons"]
        ),
        recommended_actions=tuple(doc["actions"]),
        extracted=tuple(
            Extracted(e["type"], e["value"], e["defanged"], e["where"]) for e in doc["extracted"]
        ),
        feed_hits=tuple(
            FeedHit(
                h["source"],
                h["kind"],
                h["value"],
                h.get("threat", ""),
                read_time(h.get("first_seen")),
                read_time(h.get("imported_at")),
            )
            for h in doc["feed_hits"]
        ),
        limits=tuple(doc.get("limits", [])),
        metadata=dict(doc.get("metadata", {})),
        analyzed_at=read_time(doc["analyzed_at"]) or doc["analyzed_at"],
        duration_us=int(doc.get("duration_us", 0)),
        asset_matches=tuple(
            AssetMatch(
                m["asset_id"],
                m["host"],
                tuple(int(port) for port in m.get("open_ports", ())),
                m.get("last_scan_id", ""),
                read_time(m.get("last_seen")),
                m.get("matched", ""),
                m.get("role", ""),
            )
            for m in doc.get("asset_matches", ())  # analyses stored before issue 12 have none
        ),
    )


class InMemoryAnalysisRepository:
    """Analyses in a dict, same ordering and paging rules as the Mongo one (tests, embedding)."""

    def __init__(self) -> None:
        self._items: dict[str, tuple[int, Analysis]] = {}

    async def add(self, analysis: Analysis) -> None:
        self._items[analysis.analysis_id] = (sort_key(analysis), analysis)

    async def get(self, org_id: str, analysis_id: str) -> Analysis | None:
        found = self._items.get(analysis_id)
        return found[1] if found is not None and found[1].org_id == org_id else None

    async def list(self, org_id: str, size: int, page_token: str, verdict: Verdict | None) -> AnalysisPage:
        after = parse_token(page_token)
        rows = sorted(
            (
                (key, a)
                for key, a in self._items.values()
                if a.org_id == org_id and (after is None or key < after) and verdict in (None, a.verdict)
            ),
            key=lambda row: -row[0],
        )
        page = rows[:size]
        return AnalysisPage([a for _, a in page], str(page[-1][0]) if len(rows) > size else "")
