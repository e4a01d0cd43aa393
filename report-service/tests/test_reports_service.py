"""Report use cases on fakes: asking, the job (once however often delivered), downloads, tenancy,
retention."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from report_fakes import BrokerEvents, Clock, FakeRenderer, MemoryFiles, MemoryQueue, MemoryReports

from rampart.lib.errors import InvalidArgument
from rampart_report.reports.generation import ReportGeneration
from rampart_report.reports.model import (
    ReportFormat,
    ReportNotFound,
    ReportNotReady,
    ReportRequest,
    ReportStatus,
    ReportType,
    Tenant,
)
from rampart_report.reports.ports import Filters
from rampart_report.reports.service import ReportService, Retention

pytestmark = pytest.mark.timeout(10)
ACME = Tenant("org_acme", "usr_a")
ACME_TEST = Tenant("org_acme", "usr_a", sandbox=True)
OTHER = Tenant("org_other", "usr_o")


class World:
    def __init__(self) -> None:
        self.clock = Clock()
        self.reports = MemoryReports()
        self.files = MemoryFiles()
        self.queue = MemoryQueue()
        self.events = BrokerEvents()
        self.renderer = FakeRenderer()
        retention = Retention({"free": 7, "pro": 30}, default_days=7)
        self.service = ReportService(self.reports, self.files, self.queue, retention, self.clock)

    def worker(self, name: str) -> ReportGeneration:
        return ReportGeneration(
            self.reports, self.files, self.renderer, self.events, name, lease_seconds=60, clock=self.clock
        )


def technical(*scans: str, sections: tuple[str, ...] = ()) -> ReportRequest:
    return ReportRequest(ReportType.TECHNICAL, ReportFormat.PDF, scans, sections)


async def test_a_report_is_pending_and_queued_until_a_worker_makes_it_ready_with_events() -> None:
    world = World()
    report = await world.service.create(ACME, technical("scan_1", sections=("findings",)), "pro", "req_1")
    assert report.status is ReportStatus.PENDING
    assert world.queue.jobs == [(report.report_id, "req_1")]
    assert report.request.sections == ("findings",)
    assert report.expires_at - report.created_at == Retention({"pro": 30}).of("pro")

    assert await world.worker("w1").execute(report.report_id)

    ready = await world.service.get(ACME, report.report_id)
    assert ready.status is ReportStatus.READY
    assert ready.progress == 100
    content = world.files.files[report.report_id]
    assert content.startswith(b"technical of scan_1 [findings]")
    assert ready.file is not None
    assert (ready.file.size, ready.file.sha256) == (len(content), hashlib.sha256(content).hexdigest())
    assert [s.name for s in ready.sections] == ["findings"]
    kinds = world.events.kinds(report.report_id)
    assert kinds[-1] == "report.completed"
    assert "report.progress" in kinds


async def test_a_redelivered_job_makes_one_report_and_one_completed_event() -> None:
    world = World()
    report = await world.service.create(ACME, technical("scan_1"), "free")
    assert await world.worker("w1").execute(report.report_id)
    assert await world.worker("w2").execute(report.report_id)  # the job again, another worker
    assert await world.worker("w1").execute(report.report_id)
    assert world.renderer.calls == 1
    assert world.files.puts == 1
    assert world.events.kinds(report.report_id).count("report.completed") == 1
    assert len(await world.service.page(ACME, Filters(), 0, 10)) == 1


async def test_a_job_held_by_a_live_worker_is_left_to_it_and_taken_over_once_its_lease_runs_out() -> None:
    world = World()
    report = await world.service.create(ACME, technical("scan_1"), "free")
    now = world.clock()
    # w1 claimed it and then died (no completion, no renewals).
    await world.reports.claim(report.report_id, "w1", now, now + timedelta(seconds=60))
    assert not await world.worker("w2").execute(report.report_id)  # still w1's: LEAVE
    world.clock.advance(minutes=5)
    assert await world.worker("w2").execute(report.report_id)
    assert (await world.service.get(ACME, report.report_id)).status is ReportStatus.READY
    assert world.renderer.calls == 1


async def test_a_report_of_a_scan_that_is_gone_fails_for_good_with_a_failed_event() -> None:
    world = World()
    world.renderer.gone.add("scan_gone")
    report = await world.service.create(ACME, technical("scan_gone"), "free")
    assert await world.worker("w1").execute(report.report_id)
    failed = await world.service.get(ACME, report.report_id)
    assert failed.status is ReportStatus.FAILED
    assert "scan_gone" in failed.error
    assert world.events.kinds(report.report_id)[-1] == "report.failed"
    with pytest.raises(ReportNotReady):
        await world.service.read(ACME, report.report_id, 0, 0)


async def test_a_transient_failure_is_raised_for_the_queue_to_retry_and_the_next_delivery_succeeds() -> None:
    world = World()
    world.renderer.fail_with = ConnectionError("scan-service away")
    report = await world.service.create(ACME, technical("scan_1"), "free")
    with pytest.raises(ConnectionError):
        await world.worker("w1").execute(report.report_id)
    world.renderer.fail_with = None
    assert await world.worker("w1").execute(report.report_id)
    assert (await world.service.get(ACME, report.report_id)).status is ReportStatus.READY


async def test_downloads_read_ranges_of_the_stored_file() -> None:
    world = World()
    report = await world.service.create(ACME, technical("scan_1"), "free")
    await world.worker("w1").execute(report.report_id)
    whole = world.files.files[report.report_id]
    chunk = await world.service.read(ACME, report.report_id, 5, 10)
    assert (chunk.offset, chunk.content) == (5, whole[5:15])
    assert (await world.service.read(ACME, report.report_id, 0, 0)).content == whole
    assert (await world.service.read(ACME, report.report_id, len(whole) + 3, 0)).content == b""


async def test_another_organisation_or_the_other_key_mode_never_sees_a_report() -> None:
    world = World()
    report = await world.service.create(ACME, technical("scan_1"), "free")
    await world.worker("w1").execute(report.report_id)
    for stranger in (OTHER, ACME_TEST):
        with pytest.raises(ReportNotFound):
            await world.service.get(stranger, report.report_id)
        with pytest.raises(ReportNotFound):
            await world.service.read(stranger, report.report_id, 0, 0)
        with pytest.raises(ReportNotFound):
            await world.service.delete(stranger, report.report_id)
        assert await world.service.page(stranger, Filters(), 0, 10) == []
    assert report.report_id in world.files.files


async def test_listing_filters_by_type_status_and_scan_newest_first() -> None:
    world = World()
    first = await world.service.create(ACME, technical("scan_1"), "free")
    world.clock.advance(seconds=1)
    second = await world.service.create(
        ACME, ReportRequest(ReportType.EXECUTIVE, ReportFormat.HTML, ("scan_2",)), "free"
    )
    await world.worker("w1").execute(first.report_id)
    listed = await world.service.page(ACME, Filters(), 0, 10)
    assert [r.report_id for r in listed] == [second.report_id, first.report_id]
    by_type = await world.service.page(ACME, Filters(report_type=ReportType.EXECUTIVE), 0, 10)
    assert [r.report_id for r in by_type] == [second.report_id]
    ready = await world.service.page(ACME, Filters(status=ReportStatus.READY), 0, 10)
    assert [r.report_id for r in ready] == [first.report_id]
    assert [r.report_id for r in await world.service.page(ACME, Filters(scan_id="scan_2"), 0, 10)] == [
        second.report_id
    ]


async def test_expired_reports_are_swept_with_their_files_and_are_gone_before_that() -> None:
    world = World()
    short = await world.service.create(ACME, technical("scan_1"), "free")  # 7 days
    long = await world.service.create(ACME, technical("scan_1"), "pro")  # 30 days
    for report in (short, long):
        await world.worker("w1").execute(report.report_id)
    world.clock.advance(days=8)
    with pytest.raises(ReportNotFound):
        await world.service.get(ACME, short.report_id)  # expired: gone already for the API
    assert await world.service.sweep() == 1
    assert short.report_id not in world.files.files
    assert short.report_id not in world.reports.rows
    assert long.report_id in world.files.files
    assert (await world.service.get(ACME, long.report_id)).status is ReportStatus.READY


async def test_deleting_a_report_removes_its_file() -> None:
    world = World()
    report = await world.service.create(ACME, technical("scan_1"), "free")
    await world.worker("w1").execute(report.report_id)
    await world.service.delete(ACME, report.report_id)
    assert report.report_id not in world.files.files
    with pytest.raises(ReportNotFound):
        await world.service.get(ACME, report.report_id)
    assert await world.worker("w2").execute(report.report_id)  # a late job: nothing to do


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (ReportRequest(ReportType.TECHNICAL, ReportFormat.PDF, ()), "scan_ids"),
        (ReportRequest(ReportType.EXECUTIVE, ReportFormat.SARIF, ("s",)), "format"),
        (ReportRequest(ReportType.TECHNICAL, ReportFormat.PDF, ("s",), ("nonsense",)), "include_sections"),
        (ReportRequest(ReportType.DIFF, ReportFormat.HTML, ("s1", "s2", "s3")), "scan_ids"),
        (ReportRequest(ReportType.DIFF, ReportFormat.HTML, ()), "scan_ids"),
    ],
)
async def test_a_request_that_cannot_be_made_is_refused_naming_the_field(
    request_: ReportRequest, field: str
) -> None:
    world = World()
    with pytest.raises(InvalidArgument) as raised:
        await world.service.create(ACME, request_, "free")
    assert raised.value.details["field"] == field
    assert world.queue.jobs == []
