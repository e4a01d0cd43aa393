"""Reading scans: one scan, a filtered and paged listing, results, and usage counts."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, replace
from datetime import datetime

from rampart.lib.errors import InvalidArgument
from rampart_scan.domain import (
    ACTIVE_STATES,
    COMPLETED,
    SORT_FIELDS,
    HostResult,
    Order,
    Owner,
    PageInfo,
    PortResult,
    Scan,
    ScanFilter,
    ScanNotFinished,
    ScanNotFound,
    Usage,
    key_at,
)
from rampart_scan.domain.diff import (
    DEFAULT_EXPIRING_DAYS,
    MAX_EXPIRING_DAYS,
    ScanDiff,
    ScanSide,
    diff_results,
)
from rampart_scan.domain.errors import NoScanToCompare
from rampart_scan.engine.ports import InvalidPortSpec, parse_ports
from rampart_scan.interfaces import ScanStore

MAX_PER_PAGE = 100
DEFAULT_PER_PAGE = 20


def require_owner(owner: Owner) -> None:
    if not owner.user_id or not owner.org_id:
        raise InvalidArgument("owner is required", field="owner")


def encode_cursor(scan: Scan) -> str:
    raw = json.dumps({"k": scan.order_key}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key = json.loads(raw)["k"]
    except (ValueError, TypeError, KeyError):
        key = None
    if type(key) is not int or not 0 <= key < 2**63:  # bool is an int; the store holds int64
        raise InvalidArgument("cursor is not valid", field="cursor", value=cursor[:64])
    return key


async def owned_scan(store: ScanStore, owner: Owner, scan_id: str) -> Scan:
    """The caller's scan in the caller's world; anyone else's, or the other world's, is not found."""
    require_owner(owner)
    scan = await store.get(owner.org_id, scan_id, sandbox=owner.sandbox)
    if scan is None:
        raise ScanNotFound("scan not found", scan_id=scan_id)
    return scan


PREVIOUS_SEARCH_PAGES = 10  # pages of 100 completed scans of the first target looked through


def coverage(spec: str) -> frozenset[int] | None:
    """The ports a scan's specification names; None when it has none or it no longer parses."""
    if not spec:
        return None
    try:
        return frozenset(parse_ports(spec))
    except InvalidPortSpec:
        return None


def same_targets(a: Scan, b: Scan) -> bool:
    return sorted(a.spec.targets) == sorted(b.spec.targets) and a.spec.scan_type == b.spec.scan_type


@dataclass(frozen=True)
class ScanListing:
    """What a listing asks for; empty values mean no filter, the first page, the default order."""

    target: str = ""
    status: str = ""
    created_after: datetime | None = None
    created_before: datetime | None = None
    page: int = 0
    per_page: int = 0
    cursor: str = ""
    sort: str = ""
    descending: bool = False


class ScanQueries:
    """Read-side use cases; every read is scoped to the caller's organisation and world."""

    def __init__(self, store: ScanStore) -> None:
        self._store = store

    async def get(self, owner: Owner, scan_id: str) -> Scan:
        return await owned_scan(self._store, owner, scan_id)

    async def list_scans(self, owner: Owner, listing: ScanListing) -> tuple[list[Scan], PageInfo]:
        require_owner(owner)
        sort = listing.sort or "created_at"
        if sort not in SORT_FIELDS:
            raise InvalidArgument(f"sort must be one of {', '.join(SORT_FIELDS)}", field="sort", value=sort)
        order = Order(sort, descending=listing.descending or not listing.sort)
        per_page = min(max(listing.per_page or DEFAULT_PER_PAGE, 1), MAX_PER_PAGE)
        number = max(listing.page or 1, 1)
        where = ScanFilter(
            owner.org_id,
            owner.sandbox,
            target=listing.target,
            status=listing.status,
            min_key=key_at(listing.created_after) if listing.created_after else None,
            max_key=key_at(listing.created_before) if listing.created_before else None,
        )
        if listing.cursor:
            if sort != "created_at":
                raise InvalidArgument("cursor paging is by created_at only", field="cursor")
            key = decode_cursor(listing.cursor)
            where = replace(where, max_key=key) if order.descending else replace(where, after_key=key)
            scans, total = await self._store.find(where, order, 0, per_page, by_key=True)
            more = len(scans) == per_page and total > per_page
        else:
            scans, total = await self._store.find(where, order, (number - 1) * per_page, per_page)
            more = len(scans) == per_page and number * per_page < total
        page = PageInfo(
            total=total,
            page=number,
            per_page=per_page,
            pages=-(-total // per_page) if total else 0,
            next_cursor=encode_cursor(scans[-1]) if scans and more and sort == "created_at" else "",
        )
        return scans, page

    async def results(self, owner: Owner, scan_id: str) -> tuple[Scan, list[PortResult], list[HostResult]]:
        scan = await owned_scan(self._store, owner, scan_id)
        return scan, await self._store.ports_of(scan_id), await self._store.hosts_of(scan_id)

    async def usage(self, owner: Owner, since: datetime) -> Usage:
        require_owner(owner)
        by_status, since_count = await self._store.usage(owner.org_id, key_at(since))
        return Usage(
            scans_total=sum(by_status.values()),
            scans_since=since_count,
            active_scans=sum(by_status.get(state, 0) for state in ACTIVE_STATES),
            by_status=by_status,
        )

    async def previous(self, scan: Scan) -> Scan | None:
        """The latest completed scan of the same targets (and type) created before ``scan``."""
        where = ScanFilter(
            scan.owner.org_id,
            scan.owner.sandbox,
            target=scan.spec.targets[0] if scan.spec.targets else "",
            status=COMPLETED,
            max_key=scan.order_key,
        )
        order = Order("created_at", descending=True)
        for number in range(PREVIOUS_SEARCH_PAGES):
            page, _ = await self._store.find(where, order, number * MAX_PER_PAGE, MAX_PER_PAGE, by_key=True)
            for candidate in page:
                if candidate.id != scan.id and same_targets(candidate, scan):
                    return candidate
            if len(page) < MAX_PER_PAGE:
                break
        return None

    async def diff(
        self, owner: Owner, scan_id: str, against_id: str, expiring_within_days: int, now: datetime
    ) -> ScanDiff:
        """What changed from ``against_id`` (default: the previous completed scan of the same
        targets) to ``scan_id``; both the caller's, in the caller's world, and completed."""
        if not 0 <= expiring_within_days <= MAX_EXPIRING_DAYS:
            raise InvalidArgument(
                f"expiring_within_days must be between 0 and {MAX_EXPIRING_DAYS}",
                field="expiring_within_days",
                value=str(expiring_within_days),
            )
        scan = await owned_scan(self._store, owner, scan_id)
        if scan.status != COMPLETED:
            raise ScanNotFinished("only a completed scan can be compared", scan_id=scan_id)
        if against_id:
            against = await owned_scan(self._store, owner, against_id)
            if against.status != COMPLETED:
                raise ScanNotFinished("only a completed scan can be compared", scan_id=against_id)
        else:
            found = await self.previous(scan)
            if found is None:
                raise NoScanToCompare("no earlier completed scan of the same targets", scan_id=scan_id)
            against = found
        sides = [
            ScanSide(
                s.spec.scan_type or "tcp",
                await self._store.ports_of(s.id),
                await self._store.hosts_of(s.id),
                coverage(s.spec.ports),
            )
            for s in (against, scan)
        ]
        days = expiring_within_days or DEFAULT_EXPIRING_DAYS
        return ScanDiff(scan, against, diff_results(sides[0], sides[1], now, days))
