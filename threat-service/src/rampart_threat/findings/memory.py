"""The vulnerability repository in memory: ``assemble``'s default and the unit tests' store."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence

from rampart_threat.findings.domain import Status, Vulnerability
from rampart_threat.findings.model import Severity
from rampart_threat.findings.repository import (
    SORT_FIELDS,
    Delivery,
    SightingMark,
    VulnerabilityFilter,
    VulnerabilityOrder,
    first_seen_key,
    sort_keys,
)


class InMemoryVulnerabilityRepository:
    """The Mongo repository's contract in memory: copies in and out, version-guarded saves.

    ``assemble``'s default and the unit tests' store; ``lose_next_saves`` lets another writer win a race,
    ``writes`` counts the records written."""

    def __init__(self) -> None:
        self.records: dict[str, Vulnerability] = {}
        self.marks: dict[str, tuple[SightingMark, bool]] = {}
        self.lose_next_saves = 0
        self.writes = 0

    async def mark(self, mark: SightingMark) -> Delivery:
        key = f"{mark.vulnerability_id}:{mark.scan_id}"
        if key in self.marks:
            return Delivery.REPEATED if self.marks[key][1] else Delivery.INTERRUPTED
        self.marks[key] = (mark, False)
        return Delivery.FIRST

    async def applied(self, vulnerability_id: str, scan_id: str) -> None:
        key = f"{vulnerability_id}:{scan_id}"
        self.marks[key] = (self.marks[key][0], True)

    async def get(self, vulnerability_id: str) -> Vulnerability | None:
        found = self.records.get(vulnerability_id)
        return copy.deepcopy(found) if found else None

    async def add(self, vulnerability: Vulnerability) -> bool:
        if vulnerability.vulnerability_id in self.records:
            return False
        self.records[vulnerability.vulnerability_id] = copy.deepcopy(vulnerability)
        self.writes += 1
        return True

    async def save(self, vulnerability: Vulnerability) -> bool:
        stored = self.records[vulnerability.vulnerability_id]
        if self.lose_next_saves:
            self.lose_next_saves -= 1
            stored.version += 1
            return False
        if stored.version != vulnerability.version:
            return False
        vulnerability.version += 1
        self.records[vulnerability.vulnerability_id] = copy.deepcopy(vulnerability)
        self.writes += 1
        return True

    async def mark_many(self, marks: Sequence[SightingMark]) -> list[Delivery]:
        return [await self.mark(mark) for mark in marks]

    async def applied_many(self, sightings: Sequence[tuple[str, str]]) -> None:
        for vulnerability_id, scan_id in sightings:
            await self.applied(vulnerability_id, scan_id)

    async def get_many(self, vulnerability_ids: Sequence[str]) -> dict[str, Vulnerability]:
        return {v: copy.deepcopy(self.records[v]) for v in vulnerability_ids if v in self.records}

    async def add_many(self, vulnerabilities: Sequence[Vulnerability]) -> set[str]:
        return {v.vulnerability_id for v in vulnerabilities if await self.add(v)}

    async def save_many(self, vulnerabilities: Sequence[Vulnerability]) -> bool:
        return all([await self.save(vulnerability) for vulnerability in vulnerabilities])

    async def on_hosts(self, org_id: str, live: bool, hosts: Iterable[str]) -> list[Vulnerability]:
        wanted = set(hosts)
        return [
            copy.deepcopy(v)
            for v in self.records.values()
            if v.org_id == org_id and v.live == live and v.host in wanted
        ]

    async def seen_by(self, org_id: str, live: bool, scan_id: str) -> dict[str, Severity]:
        return {
            m.vulnerability_id: m.severity
            for m, _ in self.marks.values()
            if m.org_id == org_id and m.live == live and m.scan_id == scan_id
        }

    async def resolved_by(self, org_id: str, live: bool, scan_id: str) -> int:
        return sum(
            1
            for v in self.records.values()
            if v.org_id == org_id
            and v.live == live
            and v.resolved_scan_id == scan_id
            and v.status is Status.RESOLVED
        )

    async def find(
        self,
        where: VulnerabilityFilter,
        order: VulnerabilityOrder,
        skip: int,
        limit: int,
        after_key: int | None,
    ) -> tuple[list[tuple[Vulnerability, int]], int]:
        seen = set(await self.seen_by(where.org_id, where.live, where.scan_id)) if where.scan_id else None

        def keep(v: Vulnerability, key: int) -> bool:
            o = v.observation
            return (
                v.org_id == where.org_id
                and v.live == where.live
                and (not where.severities or o.severity in where.severities)
                and (not where.statuses or v.status in where.statuses)
                and (where.kev is None or o.kev == where.kev)
                and (not where.cve or o.cve == where.cve)
                and (not where.host or v.host == where.host)
                and (not where.port or v.port == where.port)
                and (where.type is None or o.type is where.type)
                and (seen is None or v.vulnerability_id in seen)
                and (where.min_key is None or key >= where.min_key)
                and (where.max_key is None or key < where.max_key)
            )

        rows = [(copy.deepcopy(v), first_seen_key(v)) for v in self.records.values()]
        rows = [row for row in rows if keep(*row)]
        total = len(rows)
        if after_key is not None:
            rows = [r for r in rows if (r[1] < after_key if order.descending else r[1] > after_key)]
        field = SORT_FIELDS[order.sort]

        def value(row: tuple[Vulnerability, int]) -> tuple[float, int]:
            primary = row[1] if field == "first_seen_key" else sort_keys(row[0])[field]
            return primary, row[1]

        rows.sort(key=value, reverse=order.descending)
        return rows[skip : skip + limit], total
