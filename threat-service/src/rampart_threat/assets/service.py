"""Asset use cases: keep the inventory from scan observations and findings; read and list it.

Every write is a read, an idempotent change on the record, and a version-guarded save; a lost
race reloads and reapplies. A change that changes nothing writes nothing, which is what makes a
redelivered event harmless.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from rampart.lib.errors import AlreadyExists, InvalidArgument
from rampart_threat.assets.domain import (
    SEVERITIES,
    AssetNotFound,
    AssetRecord,
    Observation,
    asset_id,
    normalise_host,
)
from rampart_threat.assets.repository import SORT_KEYS, After, AssetFilter, AssetOrder, AssetRepository
from rampart_threat.findings.ports import Coverage

MAX_PAGE = 100
DEFAULT_PAGE = 20
MAX_PAGE_NUMBER = 100_000
SAVE_ATTEMPTS = 5


@dataclass(frozen=True)
class AssetListing:
    where: AssetFilter
    sort: str = "last_seen"
    ascending: bool = False
    page: int = 1  # 1-based; ignored when page_token is set
    page_size: int = 0
    page_token: str = ""


@dataclass
class AssetPage:
    assets: list[AssetRecord]
    total: int
    page: int
    page_size: int
    next_page_token: str

    @property
    def pages(self) -> int:
        return -(-self.total // self.page_size) if self.page_size else 0


@dataclass
class AssetService:
    """The organisation's assets; every read and write is scoped by organisation and live or test."""

    assets: AssetRepository

    async def observe(self, org_id: str, live: bool, seen: Observation) -> bool:
        """A port seen by a scan; False when the inventory already knew it (a redelivery)."""
        host = normalise_host(seen.host)
        if not host or not org_id:
            return False
        return await self._change(org_id, live, host, lambda record: record.observe(seen), create=True)

    async def observe_many(self, org_id: str, live: bool, seen: Sequence[Observation]) -> bool:
        """Ports seen by scans (a fetch of the consumer), each host's record read and written once for
        all of its ports: a host with many ports is not rewritten once per port. True if any changed."""
        by_host: dict[str, list[Observation]] = {}
        for observation in seen:
            host = normalise_host(observation.host)
            if host and org_id:
                by_host.setdefault(host, []).append(observation)
        changed = False
        for host, observations in by_host.items():

            def apply_all(record: AssetRecord, observations: list[Observation] = observations) -> bool:
                return any([record.observe(observation) for observation in observations])  # all of them

            changed |= await self._change(org_id, live, host, apply_all, create=True)
        return changed

    async def settle(self, coverage: Coverage, at: datetime) -> int:
        """A finished scan: open ports it covered but did not see open are closed. Assets changed."""
        changed = 0
        for host in sorted(coverage.hosts):
            name = normalise_host(host)
            changed += await self._change(
                coverage.org_id,
                coverage.live,
                name,
                lambda record: record.close_unseen(coverage.scan_id, coverage.ports, at),
                create=False,
            )
        return changed

    async def settle_scan(
        self, org_id: str, live: bool, scan_id: str, ports: frozenset[tuple[int, str]], at: datetime
    ) -> int:
        """A completed scan probed ``ports`` on every host it saw: what it no longer saw open is closed.

        The hosts are the assets this scan's port events reached (a host it did not reach at all may
        only have been down, so nothing of it is closed). Repeating it changes nothing.
        """
        if not org_id or not ports:
            return 0
        hosts = frozenset(await self.assets.hosts_seen_by(org_id, live, scan_id))
        return await self.settle(Coverage(scan_id, org_id, live, hosts, ports), at)

    async def set_finding_counts(self, org_id: str, live: bool, host: str, counts: Mapping[str, int]) -> bool:
        """The findings ledger's count of open findings on a host, by severity (replaces the last one).

        A host no port event has reached yet gets its record now; its ports follow with the events.
        """
        unknown = sorted(set(counts) - set(SEVERITIES))
        if unknown or any(count < 0 for count in counts.values()):
            raise InvalidArgument("finding counts are by severity and never negative", severities=unknown)
        name = normalise_host(host)
        if not name or not org_id:
            raise InvalidArgument("a host and an organisation are required", field="host")
        return await self._change(
            org_id, live, name, lambda record: record.set_finding_counts(counts), create=True
        )

    async def get(self, org_id: str, live: bool, wanted: str) -> AssetRecord:
        record = await self.assets.get(org_id, live, wanted) if org_id and wanted else None
        if record is None:
            raise AssetNotFound("no such asset", asset_id=wanted)
        return record

    async def list(self, listing: AssetListing) -> AssetPage:
        if listing.sort not in SORT_KEYS:
            raise InvalidArgument(f"sort must be one of {', '.join(SORT_KEYS)}", field="sort")
        if listing.where.min_severity and listing.where.min_severity not in SEVERITIES:
            raise InvalidArgument(f"severity must be one of {', '.join(SEVERITIES)}", field="severity")
        size = min(listing.page_size or DEFAULT_PAGE, MAX_PAGE)
        order = AssetOrder(listing.sort, not listing.ascending)
        after, offset = decode_token(listing.page_token, listing.sort)
        if not listing.page_token:
            page = min(max(listing.page, 1), MAX_PAGE_NUMBER)
            offset = (page - 1) * size
        skip = 0 if after is not None else offset
        rows, total = await self.assets.select(listing.where, order, skip, size, after)
        token = ""
        if len(rows) == size:
            if listing.sort == "host":
                token = encode_token({"o": skip + size})
            else:
                last, key = rows[-1]
                token = encode_token({"k": key, "id": last.asset_id})
        page_number = (offset // size) + 1 if after is None else 0
        return AssetPage([record for record, _ in rows], total, page_number, size, token)

    async def _change(
        self, org_id: str, live: bool, host: str, change: Callable[[AssetRecord], bool], create: bool
    ) -> bool:
        wanted = asset_id(org_id, host, live)
        for _ in range(SAVE_ATTEMPTS):  # another writer won the version race: reload, reapply
            record = await self.assets.get(org_id, live, wanted)
            if record is None:
                if not create:
                    return False
                record = AssetRecord.new(org_id, live, host)
            if not change(record):
                return False  # nothing new: no write
            if await self.assets.save(record):
                return True
        raise AlreadyExists("the asset keeps changing; retry", asset_id=wanted)


def encode_token(value: dict[str, int | str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def decode_token(token: str, sort: str) -> tuple[After | None, int]:
    """The keyset position (numeric orders) or the offset (host order) a page token holds."""
    if not token:
        return None, 0
    try:
        raw = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if sort == "host":
            offset = int(raw["o"])
            if offset < 0:
                raise ValueError(offset)
            return None, offset
        return After(int(raw["k"]), str(raw["id"])), 0
    except (ValueError, KeyError, TypeError) as error:
        raise InvalidArgument("page_token is not valid for this sort", field="page_token") from error
