"""Which scans a listing asks for, in what order, and an organisation's usage."""

from __future__ import annotations

from dataclasses import dataclass, field

SORT_FIELDS = ("created_at", "status", "completed_at")


@dataclass(frozen=True)
class ScanFilter:
    """One organisation's scans in one world, optionally narrowed; keys are ``Scan.order_key``s."""

    org_id: str
    sandbox: bool
    target: str = ""
    status: str = ""
    min_key: int | None = None  # created at or after
    max_key: int | None = None  # created before
    after_key: int | None = None  # strictly after (an ascending cursor)


@dataclass(frozen=True)
class Order:
    """Sort by one of ``SORT_FIELDS``, ties broken by creation order in the same direction."""

    field: str = "created_at"
    descending: bool = True


@dataclass(frozen=True)
class PageInfo:
    """Where a page sits in the listing, and the cursor of the next one ("" on the last)."""

    total: int
    page: int
    per_page: int
    pages: int
    next_cursor: str = ""


@dataclass(frozen=True)
class Usage:
    """An organisation's scans, both worlds counted."""

    scans_total: int
    scans_since: int
    active_scans: int
    by_status: dict[str, int] = field(default_factory=dict)
