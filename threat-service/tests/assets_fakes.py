"""The asset repository's contract in memory: copies in and out, version-guarded saves."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

from rampart_threat.assets.domain import SEVERITY_RANK, Asset, AssetRecord, Observation, asset_id
from rampart_threat.assets.repository import SORT_KEYS, After, AssetFilter, AssetOrder, findings_key, micros

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


class FakeAssets:
    def __init__(self) -> None:
        self.rows: dict[str, AssetRecord] = {}
        self.saves = 0
        self.lose_next_saves = 0  # simulate another writer winning the version race

    def seen(self, org_id: str, host: str, *ports: int, scan_id: str = "scan_1", at: datetime = T0) -> str:
        """An asset with these open ports, as if a live scan had reported them."""
        wanted = asset_id(org_id, host)
        record = self.rows.get(wanted) or AssetRecord.new(org_id, True, host)
        for port in ports:
            record.observe(Observation(scan_id, host, port, "tcp", True, at))
        record.version += 1
        self.rows[wanted] = record
        return wanted

    async def get(self, org_id: str, live: bool, wanted: str) -> AssetRecord | None:
        record = self.rows.get(wanted)
        return copy.deepcopy(record) if record and (record.org_id, record.live) == (org_id, live) else None

    async def save(self, record: AssetRecord) -> bool:
        stored = self.rows.get(record.asset_id)
        if self.lose_next_saves and stored is not None:
            self.lose_next_saves -= 1
            stored.version += 1
            return False
        if (stored.version if stored else 0) != record.version:
            return False
        record.version += 1
        self.saves += 1
        self.rows[record.asset_id] = copy.deepcopy(record)
        return True

    async def select(
        self, where: AssetFilter, order: AssetOrder, skip: int, limit: int, after: After | None = None
    ) -> tuple[list[tuple[AssetRecord, int]], int]:
        rows = [copy.deepcopy(r) for r in self.rows.values() if keep(r, where)]
        total = len(rows)
        field = SORT_KEYS[order.field]
        rows.sort(
            key=lambda r: (r.host if field == "host" else sort_value(r, field), r.asset_id),
            reverse=order.descending,
        )
        if after is not None and field != "host":
            rows = [
                r
                for r in rows
                if (
                    (sort_value(r, field), r.asset_id) < (after.key, after.asset_id)
                    if order.descending
                    else (sort_value(r, field), r.asset_id) > (after.key, after.asset_id)
                )
            ]
        page = rows[skip : skip + limit]
        return [(r, sort_value(r, field) if field != "host" else 0) for r in page], total

    async def find(
        self, org_id: str, asset_ids: tuple[str, ...], hosts: tuple[str, ...], networks: bool
    ) -> list[Asset]:
        return [
            r.summary()
            for r in self.rows.values()
            if r.org_id == org_id and r.live and (networks or r.host in hosts or r.asset_id in asset_ids)
        ]

    async def hosts_seen_by(self, org_id: str, live: bool, scan_id: str) -> list[str]:
        return sorted(
            r.host
            for r in self.rows.values()
            if (r.org_id, r.live) == (org_id, live) and any(s.scan_id == scan_id for s in r.scans)
        )


def sort_value(record: AssetRecord, field: str) -> int:
    values = {
        "last_seen_key": micros(record.last_seen),
        "first_seen_key": micros(record.first_seen),
        "findings_key": findings_key(record.findings),
    }
    if field == "host":
        return 0
    return values[field]


def keep(record: AssetRecord, where: AssetFilter) -> bool:
    seen = micros(record.last_seen)
    checks = (
        record.org_id == where.org_id and record.live == where.live,
        not where.text or any(where.text.lower() in name for name in (record.host, *record.names)),
        not where.port or where.port in {p.port for p in record.open_ports()},
        not where.service or where.service.lower() in record.services(),
        not where.os or where.os.lower() in record.os.name.lower(),
        where.has_findings is None or (record.findings_total > 0) == where.has_findings,
        not where.min_severity
        or SEVERITY_RANK.get(record.worst_severity, 0) >= SEVERITY_RANK[where.min_severity],
        where.seen_after is None or seen >= micros(where.seen_after),
        where.seen_before is None or seen < micros(where.seen_before),
    )
    return all(checks)
