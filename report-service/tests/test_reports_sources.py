"""The diff and the scans of a period over gRPC: DiffScans' reply read into the domain, scan-service's
refusals passed on with their public code, the listing paged by cursor within the period, an asset's
hosts; and the report's scope through report.proto and back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest

from rampart.common.v1 import common_pb2
from rampart.lib.ids import to_timestamp
from rampart.report.v1 import report_pb2
from rampart.scan.v1 import scan_pb2
from rampart.threat.v1 import threat_pb2
from rampart_report.exports.errors import ScanNotFound
from rampart_report.exports.ports import Requester
from rampart_report.exports.sources import DependencyUnavailable
from rampart_report.reports import mappers
from rampart_report.reports.model import (
    AssetNotFound,
    NoScanToCompare,
    Report,
    ReportFormat,
    ReportRequest,
    ReportType,
    ScanNotFinished,
    Tenant,
)
from rampart_report.reports.scope import Scope
from rampart_report.reports.sources import GrpcDiffSource, GrpcScanFinder

pytestmark = pytest.mark.timeout(10)
ALICE = Requester("org_a", "user_a")
AT = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def refusal(error: Any) -> grpc.aio.AioRpcError:
    return grpc.aio.AioRpcError(
        error.grpc_code,
        grpc.aio.Metadata(),
        grpc.aio.Metadata(*error.trailing_metadata()),
        details=error.message,
    )


class Stub:
    def __init__(self, reply: Any = None, error: grpc.aio.AioRpcError | None = None) -> None:
        self.reply, self.error = reply, error
        self.asked: list[Any] = []

    async def _answer(self, request: Any, **options: Any) -> Any:
        self.asked.append(request)
        if self.error is not None:
            raise self.error
        return self.reply(request) if callable(self.reply) else self.reply

    DiffScans = ListScans = GetAsset = _answer


def scan_message(scan_id: str, *targets: str) -> scan_pb2.Scan:
    message = scan_pb2.Scan(scan_id=scan_id, targets=targets, status=scan_pb2.SCAN_STATUS_COMPLETED)
    message.created_at.CopyFrom(to_timestamp(AT))
    return message


async def test_a_diff_reply_reads_into_the_domain_with_the_callers_owner() -> None:
    reply = scan_pb2.ScanDiff(
        scan=scan_message("scan_new", "127.0.0.1"), against=scan_message("scan_old", "127.0.0.1")
    )
    reply.hosts_down.append("127.0.0.2")
    reply.ports_opened.add(
        host="127.0.0.1", port=6380, protocol="tcp", service=scan_pb2.ServiceInfo(name="redis")
    )
    change = reply.services_changed.add(host="127.0.0.1", port=22, protocol="tcp")
    change.before.CopyFrom(scan_pb2.ServiceInfo(name="ssh", product="OpenSSH", version="8.9"))
    change.after.CopyFrom(scan_pb2.ServiceInfo(name="ssh", product="OpenSSH", version="9.6"))
    cert = reply.certificates_changed.add(host="127.0.0.1", port=443, protocol="tcp")
    cert.after.CopyFrom(scan_pb2.Certificate(subject="CN=new", key_type="EC", key_bits=256))
    stub = Stub(reply)
    diff = await GrpcDiffSource(stub).diff(Requester("org_a", "user_a", live=False), "scan_new", "")  # type: ignore[arg-type]
    assert (diff.scan.scan_id, diff.against.scan_id, diff.hosts_down) == (
        "scan_new",
        "scan_old",
        ("127.0.0.2",),
    )
    assert [(c.port, c.service.label) for c in diff.ports_opened] == [(6380, "redis")]
    assert (diff.services_changed[0].before.version, diff.services_changed[0].after.version) == ("8.9", "9.6")
    only = diff.certificates_changed[0]
    assert only.before is None
    assert only.after is not None
    assert (only.after.subject, only.after.key) == ("CN=new", "EC 256")
    asked = stub.asked[0]
    assert (asked.scan_id, asked.against_scan_id, asked.owner.mode) == (
        "scan_new",
        "",
        common_pb2.KEY_MODE_TEST,
    )


@pytest.mark.parametrize(
    "error",
    [
        ScanNotFinished("the scan has not finished yet", scan_id="s"),
        NoScanToCompare("no earlier scan", scan_id="s"),
        ScanNotFound("scan not found", scan_id="s"),
    ],
)
async def test_scan_services_refusals_are_passed_on_with_their_code(error: Any) -> None:
    with pytest.raises(type(error)) as raised:
        await GrpcDiffSource(Stub(error=refusal(error))).diff(ALICE, "s", "")  # type: ignore[arg-type]
    assert raised.value.public_code == error.public_code


async def test_scan_service_away_is_a_dependency_error_not_a_refusal() -> None:
    away = grpc.aio.AioRpcError(grpc.StatusCode.UNAVAILABLE, grpc.aio.Metadata(), grpc.aio.Metadata())
    with pytest.raises(DependencyUnavailable):
        await GrpcDiffSource(Stub(error=away)).diff(ALICE, "s", "")  # type: ignore[arg-type]


async def test_the_completed_scans_of_a_period_are_read_page_by_page() -> None:
    def page(request: scan_pb2.ListScansRequest) -> scan_pb2.ListScansResponse:
        second = request.page.cursor == "c2"
        reply = scan_pb2.ListScansResponse(scans=[scan_message("scan_b" if second else "scan_a", "10.0.0.1")])
        reply.page.next_cursor = "" if second else "c2"
        return reply

    stub = Stub(page)
    found = await GrpcScanFinder(stub, Stub()).completed(ALICE, AT - timedelta(days=7), AT)  # type: ignore[arg-type]
    assert [s.scan_id for s in found] == ["scan_a", "scan_b"]
    first = stub.asked[0]
    assert first.status == scan_pb2.SCAN_STATUS_COMPLETED
    assert (first.created.after.ToDatetime(UTC), first.created.before.ToDatetime(UTC)) == (
        AT - timedelta(days=7),
        AT,
    )


async def test_an_assets_hosts_are_its_host_and_addresses_and_an_unknown_one_is_not_found() -> None:
    asset = threat_pb2.Asset(asset_id="asset_1", host="www.example.test", addresses=["192.0.2.80"])
    hosts = await GrpcScanFinder(Stub(), Stub(asset)).asset_hosts(ALICE, "asset_1")  # type: ignore[arg-type]
    assert hosts == ("www.example.test", "192.0.2.80")
    gone = grpc.aio.AioRpcError(grpc.StatusCode.NOT_FOUND, grpc.aio.Metadata(), grpc.aio.Metadata())
    with pytest.raises(AssetNotFound):
        await GrpcScanFinder(Stub(), Stub(error=gone)).asset_hosts(ALICE, "asset_x")  # type: ignore[arg-type]


def test_a_scope_crosses_report_proto_both_ways() -> None:
    message = report_pb2.CreateReportRequest(
        report_type=report_pb2.REPORT_TYPE_DIFF,
        format=report_pb2.FORMAT_PDF,
        scope=report_pb2.ReportScope(assets=["10.0.0.0/24"], last_days=7),
    )
    asked = mappers.request(message)
    assert asked.scope == Scope(("10.0.0.0/24",), last_days=7)
    assert mappers.request(report_pb2.CreateReportRequest(report_type=1, format=1)).scope is None
    resolved = Scope(("10.0.0.0/24",), AT - timedelta(days=7), AT, hosts=("10.0.0.0/24",))
    request = ReportRequest(ReportType.DIFF, ReportFormat.PDF, ("a", "b"), ("ports",), "t", scope=resolved)
    shown = mappers.report_message(Report("rep_1", Tenant("org_a"), request, AT, AT)).scope
    assert list(shown.assets) == ["10.0.0.0/24"]
    assert (shown.period_from.ToDatetime(UTC), shown.period_to.ToDatetime(UTC)) == (
        AT - timedelta(days=7),
        AT,
    )
