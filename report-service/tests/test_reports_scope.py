"""Reports over assets and a period: the request's checks, which scans it resolves to when asked
for (covering the assets, in the period, of the caller's world), and a report showing only the
assets' hosts."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from diff_fakes import FakeScans, scan
from report_fakes import Clock, MemoryFiles, MemoryQueue, MemoryReports
from test_reports_diff import NOW, no_progress
from test_reports_rendering import Down

from rampart.lib.errors import InvalidArgument
from rampart_report.exports.fakes import MemoryFindings, MemoryScans
from rampart_report.exports.ports import Requester
from rampart_report.exports.samples import FINDINGS, PORTS
from rampart_report.exports.service import ExportService
from rampart_report.reports.model import (
    MAX_SCANS,
    AssetNotFound,
    Report,
    ReportFormat,
    ReportRequest,
    ReportType,
    Tenant,
)
from rampart_report.reports.picking import ScanPicker
from rampart_report.reports.rendering import ReportRenderer
from rampart_report.reports.scope import Scope, checked_scope, covers, matches, resolved_period
from rampart_report.reports.service import ReportService, Retention

pytestmark = pytest.mark.timeout(30)
ALICE = Tenant("org_a", "user_a")
ALICE_TEST = Tenant("org_a", "user_a", sandbox=True)
LIVE = Requester("org_a", "user_a")
SANDBOX = Requester("org_a", "user_a", live=False)


def world() -> tuple[ReportService, MemoryQueue, FakeScans]:
    fake = FakeScans()
    fake.add(LIVE, scan("scan_net", 3, NOW, targets=("192.0.2.0/24",)))
    fake.add(LIVE, scan("scan_host", 2, NOW, targets=("192.0.2.10",)))
    fake.add(LIVE, scan("scan_other", 1, NOW, targets=("198.51.100.7",)))
    fake.add(LIVE, scan("scan_named", 1.5, NOW, targets=("www.example.test",)))
    fake.add(LIVE, scan("scan_old", 40, NOW, targets=("192.0.2.10",)))
    fake.add(LIVE, scan("scan_failed", 1, NOW, targets=("192.0.2.10",), status="failed"))
    fake.add(SANDBOX, scan("scan_sandbox", 1, NOW, targets=("192.0.2.10",), sandbox=True))
    fake.assets[("org_a", True, "asset_0123456789abcdef0123")] = ("www.example.test", "192.0.2.80")
    queue = MemoryQueue()
    picker = ScanPicker(fake, fake)
    return (
        ReportService(MemoryReports(), MemoryFiles(), queue, Retention({}), Clock(), picker=picker),
        queue,
        fake,
    )


def asked(
    kind: ReportType = ReportType.TECHNICAL, fmt: ReportFormat = ReportFormat.JSON, **scope: object
) -> ReportRequest:
    return ReportRequest(kind, fmt, (), scope=Scope(**scope))  # type: ignore[arg-type]


def test_addresses_cidrs_and_names_cover_what_they_contain() -> None:
    assert matches("192.0.2.10", ["192.0.2.0/24"])
    assert matches("192.0.2.0/24", ["192.0.2.10"])
    assert matches("WWW.Example.test.", ["www.example.test"])
    assert not matches("192.0.2.10", ["192.0.3.0/24", "2001:db8::/32", "www.example.test"])
    assert matches("2001:db8::5", ["2001:db8::/64"])
    assert not covers(["198.51.100.7"], ["192.0.2.10"])


@pytest.mark.parametrize(
    ("scope", "field"),
    [
        (Scope(), "assets"),
        (Scope(assets=("not a host!",)), "assets"),
        (Scope(assets=tuple(f"10.0.0.{n}" for n in range(51))), "assets"),
        (Scope(assets=("10.0.0.1",), last_days=7, period_from=NOW), "period"),
        (Scope(assets=("10.0.0.1",), last_days=400), "period.last_days"),
    ],
)
def test_a_scope_that_cannot_be_read_is_refused_naming_the_field(scope: Scope, field: str) -> None:
    with pytest.raises(InvalidArgument) as raised:
        checked_scope(scope)
    assert raised.value.details["field"] == field


def test_a_period_is_resolved_against_now_and_bounded() -> None:
    last = resolved_period(Scope(("10.0.0.1",), last_days=7), NOW)
    assert (last.period_from, last.period_to) == (NOW - timedelta(days=7), NOW)
    default = resolved_period(Scope(("10.0.0.1",)), NOW)
    assert default.period_from == NOW - timedelta(days=30)
    future_end = resolved_period(Scope(("10.0.0.1",), NOW - timedelta(days=2), NOW + timedelta(days=9)), NOW)
    assert future_end.period_to == NOW
    for start, end in (
        (NOW, NOW - timedelta(days=1)),
        (NOW - timedelta(days=400), NOW),
        (NOW + timedelta(days=1), None),
    ):
        with pytest.raises(InvalidArgument) as raised:
            resolved_period(Scope(("10.0.0.1",), start, end), NOW)
        assert raised.value.details["field"] == "period"


async def test_a_report_over_an_address_covers_its_completed_scans_in_the_period_newest_first() -> None:
    reports, queue, _ = world()
    made = await reports.create(ALICE, asked(assets=("192.0.2.10",), last_days=30), "free")
    assert made.request.scan_ids == (
        "scan_host",
        "scan_net",
    )  # not the other host's, the failed, the 40-day-old
    scope = made.request.scope
    assert scope is not None
    assert (scope.period_from, scope.period_to, scope.hosts) == (
        NOW - timedelta(days=30),
        NOW,
        ("192.0.2.10",),
    )
    assert len(queue.jobs) == 1


async def test_an_asset_id_resolves_to_its_hosts_and_a_test_key_sees_sandbox_scans_only() -> None:
    reports, _, _ = world()
    by_id = await reports.create(ALICE, asked(assets=("asset_0123456789abcdef0123",)), "free")
    assert by_id.request.scan_ids == ("scan_named", "scan_net")  # the name, and 192.0.2.80 in the /24
    sandbox = await reports.create(ALICE_TEST, asked(assets=("192.0.2.0/24",)), "free")
    assert sandbox.request.scan_ids == ("scan_sandbox",)
    with pytest.raises(AssetNotFound):
        await reports.create(ALICE_TEST, asked(assets=("asset_0123456789abcdef0123",)), "free")


async def test_no_scan_of_the_assets_in_the_period_is_refused_before_anything_is_queued() -> None:
    reports, queue, _ = world()
    with pytest.raises(InvalidArgument) as raised:
        await reports.create(ALICE, asked(assets=("203.0.113.5",)), "free")
    assert raised.value.details["field"] == "assets"
    with pytest.raises(InvalidArgument) as raised:
        await reports.create(
            ALICE,
            ReportRequest(
                ReportType.TECHNICAL, ReportFormat.PDF, ("scan_host",), scope=Scope(("192.0.2.10",))
            ),
            "free",
        )
    assert raised.value.details["field"] == "scan_ids"
    with pytest.raises(InvalidArgument) as raised:
        await reports.create(
            ALICE, asked(ReportType.COMPLIANCE, ReportFormat.JSON, assets=("192.0.2.10",)), "free"
        )
    assert raised.value.details["field"] == "assets"
    assert queue.jobs == []


async def test_a_report_over_assets_covers_at_most_the_newest_scans_allowed() -> None:
    reports, _, fake = world()
    for n in range(MAX_SCANS + 5):
        fake.add(LIVE, scan(f"scan_many_{n:02d}", 0.01 * (n + 1), NOW, targets=("192.0.2.10",)))
    made = await reports.create(ALICE, asked(assets=("192.0.2.10",)), "free")
    assert len(made.request.scan_ids) == MAX_SCANS
    assert made.request.scan_ids[0] == "scan_many_00"


async def test_a_diff_report_over_assets_compares_the_newest_scan_with_the_oldest_of_its_targets() -> None:
    reports, _, fake = world()
    made = await reports.create(ALICE, asked(ReportType.DIFF, assets=("192.0.2.10",), last_days=60), "free")
    assert made.request.scan_ids == ("scan_host", "scan_old")
    assert fake.diffs_asked[-1] == ("scan_host", "scan_old")


async def test_a_report_over_assets_shows_only_the_ports_and_findings_of_their_hosts() -> None:
    exports_scans, findings = MemoryScans(), MemoryFindings()
    net = scan("scan_net", 3, NOW, targets=("192.0.2.0/24",))
    exports_scans.add(LIVE, net, PORTS)
    findings.by_scan[("org_a", net.scan_id)] = FINDINGS
    renderer = ReportRenderer(ExportService(exports_scans, findings), Down(), 5.0, clock=lambda: NOW)
    request = ReportRequest(
        ReportType.TECHNICAL,
        ReportFormat.JSON,
        (net.scan_id,),
        ("summary", "findings", "ports"),
        "Assets",
        scope=Scope(("192.0.2.11",), NOW - timedelta(days=30), NOW, hosts=("192.0.2.11",)),
    )
    body = json.loads((await renderer.render(Report("rep_a", ALICE, request, NOW, NOW), no_progress)).content)
    assert {p["host"] for p in body["ports"]} == {"192.0.2.11"}
    assert sorted(f["id"] if "id" in f else f["rule_id"] for f in body["findings"]) == [
        "CVE-2021-32675",
        "RMP-AUTH-001",
    ]
