"""Reading scans: worlds, filters, order, pages and cursors, results and usage, on in-memory fakes."""

from __future__ import annotations

import base64
from dataclasses import replace
from datetime import timedelta

import pytest
from scan_fakes import Platform, platform

from rampart.lib.errors import InvalidArgument
from rampart_scan.domain import (
    COMPLETED,
    FAILED,
    HostResult,
    Owner,
    PlanLimits,
    PortCounts,
    PortResult,
    Scan,
    ScanNotFound,
    ScanSpec,
)
from rampart_scan.queries import ScanListing

LIVE = Owner("usr_a", "org_a")
TEST = Owner("usr_a", "org_a", sandbox=True)


async def make(p: Platform, owner: Owner = LIVE, target: str = "127.0.0.1", gap: float = 1.0) -> Scan:
    """A scan created ``gap`` seconds after the previous one."""
    p.clock.advance(gap)
    return (await p.commands.create(owner, ScanSpec(targets=(target,), ports="1-5"), PlanLimits())).scan


async def ids(p: Platform, listing: ScanListing, owner: Owner = LIVE) -> list[str]:
    scans, _ = await p.queries.list_scans(owner, listing)
    return [scan.id for scan in scans]


async def test_each_world_sees_only_its_own_scans() -> None:
    p = platform()
    live, sandbox = await make(p), await make(p, TEST)
    assert (await p.queries.get(LIVE, live.id)).id == live.id
    for owner, scan_id in ((TEST, live.id), (LIVE, sandbox.id), (Owner("usr_b", "org_b"), live.id)):
        with pytest.raises(ScanNotFound):
            await p.queries.get(owner, scan_id)
    assert await ids(p, ScanListing(), LIVE) == [live.id]
    assert await ids(p, ScanListing(), TEST) == [sandbox.id]


async def test_the_listing_is_newest_first_by_default() -> None:
    p = platform()
    scans = [await make(p) for _ in range(3)]
    assert await ids(p, ScanListing()) == [s.id for s in reversed(scans)]
    assert await ids(p, ScanListing(sort="created_at")) == [s.id for s in scans]  # an explicit sort ascends


async def test_the_listing_filters_by_target_status_and_creation_window() -> None:
    p = platform()
    a, b, c = await make(p, target="127.0.0.1"), await make(p, target="127.0.0.2"), await make(p, gap=60)
    p.store.scans[a.id] = replace(a, status=COMPLETED)
    assert await ids(p, ScanListing(target="127.0.0.2")) == [b.id]
    assert await ids(p, ScanListing(status=COMPLETED)) == [a.id]
    window = ScanListing(created_after=b.created_at, created_before=c.created_at)
    assert await ids(p, window) == [b.id]  # after is inclusive, before exclusive


async def test_sorting_by_status_or_completion_breaks_ties_by_creation() -> None:
    p = platform()
    a, b, c = await make(p), await make(p), await make(p)
    p.store.scans[a.id] = replace(a, status=FAILED, completed_at=c.created_at + timedelta(seconds=5))
    p.store.scans[c.id] = replace(c, status=COMPLETED, completed_at=c.created_at + timedelta(seconds=1))
    assert await ids(p, ScanListing(sort="status")) == [c.id, a.id, b.id]  # completed < failed < queued
    assert await ids(p, ScanListing(sort="completed_at", descending=True)) == [a.id, c.id, b.id]


async def test_an_empty_listing_has_no_pages_and_no_cursor() -> None:
    scans, page = await platform().queries.list_scans(LIVE, ScanListing())
    assert (scans, page.total, page.pages, page.next_cursor) == ([], 0, 0, "")


async def test_cursor_pages_walk_every_scan_once_and_the_last_page_has_no_cursor() -> None:
    p = platform()
    made = [await make(p) for _ in range(5)]
    seen, cursor, pages = [], "", 0
    while True:
        scans, page = await p.queries.list_scans(LIVE, ScanListing(per_page=2, cursor=cursor))
        seen += [s.id for s in scans]
        pages += 1
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert seen == [s.id for s in reversed(made)]
    assert pages == 3


async def test_a_full_last_page_has_no_cursor() -> None:
    p = platform()
    for _ in range(4):
        await make(p)
    first, page1 = await p.queries.list_scans(LIVE, ScanListing(per_page=2))
    second, page2 = await p.queries.list_scans(LIVE, ScanListing(per_page=2, cursor=page1.next_cursor))
    assert (len(first), page1.pages, bool(page1.next_cursor)) == (2, 2, True)
    assert (len(second), page2.next_cursor) == (2, "")
    _, numbered = await p.queries.list_scans(LIVE, ScanListing(per_page=2, page=2))
    assert numbered.next_cursor == ""


def _cursor(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    ["not a cursor!", _cursor(b'{"k": true}'), _cursor(b'{"k": -1}'), _cursor(b'{"k": 1e3}'), _cursor(b"[]")],
)
async def test_a_bad_cursor_is_refused_naming_the_field(cursor: str) -> None:
    with pytest.raises(InvalidArgument) as refused:
        await platform().queries.list_scans(LIVE, ScanListing(cursor=cursor))
    assert refused.value.details["field"] == "cursor"


async def test_a_cursor_with_another_sort_or_an_unknown_sort_is_refused() -> None:
    p = platform()
    with pytest.raises(InvalidArgument, match="created_at only"):
        await p.queries.list_scans(LIVE, ScanListing(sort="status", cursor=_cursor(b'{"k": 5}')))
    with pytest.raises(InvalidArgument, match="sort must be one of"):
        await p.queries.list_scans(LIVE, ScanListing(sort="targets"))


async def test_page_size_is_capped_and_defaults_to_twenty() -> None:
    p = platform()
    _, page = await p.queries.list_scans(LIVE, ScanListing(per_page=1000))
    _, default = await p.queries.list_scans(LIVE, ScanListing())
    assert (page.per_page, default.per_page, default.page) == (100, 20, 1)


async def test_results_are_the_scans_ports_and_hosts() -> None:
    p = platform()
    scan = await make(p)
    await p.store.save_port(scan, PortResult("127.0.0.1", 443, "open"))
    await p.store.save_port(scan, PortResult("127.0.0.1", 22, "open"))
    await p.store.save_host(scan, HostResult("127.0.0.1", counts=PortCounts(open=2, closed=3)))
    same, ports, hosts = await p.queries.results(LIVE, scan.id)
    assert (same.id, [r.port for r in ports], hosts[0].counts.total) == (scan.id, [22, 443], 5)
    with pytest.raises(ScanNotFound):
        await p.queries.results(TEST, scan.id)


async def test_usage_counts_both_worlds_and_scans_since_a_moment() -> None:
    p = platform()
    old = await make(p)
    since = p.clock.now() + timedelta(seconds=0.5)
    await make(p, TEST)
    p.store.scans[old.id] = replace(old, status=COMPLETED)
    usage = await p.queries.usage(LIVE, since)
    assert (usage.scans_total, usage.scans_since, usage.active_scans) == (2, 1, 1)
    assert usage.by_status == {"completed": 1, "queued": 1}
