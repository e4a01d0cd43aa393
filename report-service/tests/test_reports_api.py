"""The report RPCs through ``assemble`` with fakes: decoding, the owner's mode as the tenancy, ranges."""

from __future__ import annotations

from typing import Any, cast

import pytest
from report_fakes import BrokerEvents, Clock, FakeRenderer, MemoryFiles, MemoryQueue, MemoryReports
from timeline_fakes import FakeTimelineRepository
from webhook_fakes import FakeWebhookRepository, settings

from rampart.common.v1 import common_pb2
from rampart.lib.errors import InvalidArgument
from rampart.report.v1 import report_pb2
from rampart_report.bootstrap import assemble
from rampart_report.reports.generation import ReportGeneration
from rampart_report.reports.model import ReportNotFound
from rampart_report.reports.service import ReportService, Retention

CONTEXT = cast(Any, None)
LIVE = common_pb2.Owner(org_id="org_acme", user_id="usr_a", mode=common_pb2.KEY_MODE_LIVE)
TEST = common_pb2.Owner(org_id="org_acme", user_id="usr_a", mode=common_pb2.KEY_MODE_TEST)
pytestmark = pytest.mark.timeout(10)


class World:
    def __init__(self) -> None:
        self.reports, self.files, self.queue = MemoryReports(), MemoryFiles(), MemoryQueue()
        clock = Clock()
        service = ReportService(self.reports, self.files, self.queue, Retention({"pro": 30}), clock)
        self.worker = ReportGeneration(
            self.reports, self.files, FakeRenderer(), BrokerEvents(), "w", clock=clock
        )
        self.servicer = assemble(
            FakeTimelineRepository(), FakeWebhookRepository(), settings(), reports=service
        ).servicer


def create(owner: common_pb2.Owner, **fields: Any) -> report_pb2.CreateReportRequest:
    base: dict[str, Any] = {
        "report_type": report_pb2.REPORT_TYPE_TECHNICAL,
        "format": report_pb2.FORMAT_PDF,
        "scan_ids": ["scan_1"],
        "plan": "pro",
    }
    return report_pb2.CreateReportRequest(owner=owner, **{**base, **fields})


async def test_a_test_keys_report_is_a_sandbox_report_the_live_key_never_sees() -> None:
    w = World()
    made = await w.servicer.CreateReport(create(TEST, include_sections=["findings"]), CONTEXT)
    assert made.sandbox
    assert made.status == report_pb2.REPORT_STATUS_PENDING
    assert [(s.name, s.status) for s in made.sections] == [("findings", "pending")]
    assert (made.expires_at.seconds - made.created_at.seconds) == 30 * 86400
    await w.worker.execute(made.report_id)
    got = await w.servicer.GetReport(
        report_pb2.GetReportRequest(owner=TEST, report_id=made.report_id), CONTEXT
    )
    assert got.status == report_pb2.REPORT_STATUS_READY
    assert got.size_bytes == len(w.files.files[made.report_id])
    with pytest.raises(ReportNotFound):
        await w.servicer.GetReport(report_pb2.GetReportRequest(owner=LIVE, report_id=made.report_id), CONTEXT)
    listed = await w.servicer.ListReports(report_pb2.ListReportsRequest(owner=LIVE), CONTEXT)
    assert list(listed.reports) == []


async def test_download_answers_the_range_asked_for_with_the_whole_files_size_and_digest() -> None:
    w = World()
    made = await w.servicer.CreateReport(create(LIVE), CONTEXT)
    await w.worker.execute(made.report_id)
    whole = w.files.files[made.report_id]
    part = await w.servicer.DownloadReport(
        report_pb2.DownloadReportRequest(owner=LIVE, report_id=made.report_id, offset=3, length=7), CONTEXT
    )
    assert (part.content, part.offset, part.size, part.content_type) == (
        whole[3:10],
        3,
        len(whole),
        "application/pdf",
    )


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"report_type": report_pb2.REPORT_TYPE_UNSPECIFIED}, "type"),
        ({"format": report_pb2.FORMAT_UNSPECIFIED}, "format"),
        ({"report_type": report_pb2.REPORT_TYPE_DIFF, "scan_ids": ["s1", "s2", "s3"]}, "scan_ids"),
        ({"scan_ids": [], "scope": report_pb2.ReportScope(assets=["not a host!"])}, "assets"),
        ({"scan_ids": [], "scope": report_pb2.ReportScope(last_days=7)}, "assets"),
        ({"scope": report_pb2.ReportScope(assets=["10.0.0.1"])}, "scan_ids"),
        ({"report_type": report_pb2.REPORT_TYPE_COMPLIANCE, "format": report_pb2.FORMAT_HTML}, "scan_ids"),
        ({"frameworks": ["pci-dss"]}, "frameworks"),
    ],
)
async def test_a_request_that_cannot_be_made_is_invalid_naming_the_field(
    fields: dict[str, Any], field: str
) -> None:
    w = World()
    with pytest.raises(InvalidArgument) as raised:
        await w.servicer.CreateReport(create(LIVE, **fields), CONTEXT)
    assert raised.value.details["field"] == field
    assert w.queue.jobs == []
