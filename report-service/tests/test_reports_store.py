"""Reports on the real store (nx-27017): GridFS files, leases, tenancy and expiry."""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from report_fakes import BrokerEvents, Clock, FakeRenderer, MemoryQueue

from rampart.lib.store import Document
from rampart_report.reports.generation import ReportGeneration
from rampart_report.reports.model import Report, ReportFormat, ReportRequest, ReportStatus, ReportType, Tenant
from rampart_report.reports.ports import Filters
from rampart_report.reports.repository import CHUNK_BYTES, GridFsFiles, MongoReportRepository
from rampart_report.reports.scope import Scope
from rampart_report.reports.service import ReportService, Retention
from tests.servers import Running, started

pytestmark = [pytest.mark.service, pytest.mark.timeout(60)]
ACME = Tenant("org_acme", "usr_a")


@pytest.fixture(scope="module")
def store_server() -> Iterator[Running]:
    with started("nx-27017") as server:
        yield server


@pytest.fixture
async def db(store_server: Running) -> AsyncIterator[AsyncDatabase[Document]]:
    client: AsyncMongoClient[Document] = AsyncMongoClient(
        f"mongodb://127.0.0.1:{store_server.port}/?directConnection=true", tz_aware=True
    )
    yield client[f"report_{time.monotonic_ns()}"]
    await client.close()


async def test_gridfs_keeps_a_file_across_chunks_reads_ranges_and_a_second_put_replaces_it(
    db: AsyncDatabase[Document],
) -> None:
    files = GridFsFiles(db)
    first = os.urandom(3 * CHUNK_BYTES + 17)
    await files.put("rep_1", "a.pdf", first, "application/pdf")
    start = CHUNK_BYTES - 5  # a range straddling a chunk boundary
    assert await files.read("rep_1", start, 100) == first[start : start + 100]
    assert await files.read("rep_1", 0, len(first)) == first
    second = b"%PDF-1.7 the second attempt"
    await files.put("rep_1", "a.pdf", second, "application/pdf")
    assert await files.read("rep_1", 0, 1 << 20) == second
    await files.delete("rep_1")
    await files.delete("rep_1")  # twice: no error
    with pytest.raises(FileNotFoundError):
        await files.read("rep_1", 0, 10)


async def test_a_report_generated_on_the_store_once_however_often_the_job_comes(
    db: AsyncDatabase[Document],
) -> None:
    clock = Clock()
    repository = MongoReportRepository(db)
    await repository.create_indexes()
    files = GridFsFiles(db)
    service = ReportService(repository, files, MemoryQueue(), Retention({"free": 7}), clock)
    events, renderer = BrokerEvents(), FakeRenderer()

    def worker(name: str) -> ReportGeneration:
        return ReportGeneration(repository, files, renderer, events, name, lease_seconds=30, clock=clock)

    request = ReportRequest(ReportType.TECHNICAL, ReportFormat.PDF, ("scan_1",))
    report = await service.create(ACME, request, "free")
    now = clock()
    claim = await repository.claim(report.report_id, "dead", now, now + timedelta(seconds=30))
    assert claim.ours
    assert claim.report is not None
    assert claim.report.status is ReportStatus.RUNNING
    assert not await worker("w2").execute(report.report_id)  # "dead" still holds the lease
    clock.advance(seconds=31)
    assert await worker("w2").execute(report.report_id)
    assert await worker("w3").execute(report.report_id)  # redelivered: already ready
    ready = await service.get(ACME, report.report_id)
    assert ready.status is ReportStatus.READY
    assert ready.file is not None
    assert ready.attempts == 2
    chunk = await service.read(ACME, report.report_id, 0, 0)
    assert len(chunk.content) == ready.file.size
    assert chunk.content.startswith(b"technical of scan_1")
    assert renderer.calls == 1
    assert events.kinds(report.report_id).count("report.completed") == 1

    assert await service.page(Tenant("org_other"), Filters(), 0, 10) == []
    assert await service.page(Tenant("org_acme", sandbox=True), Filters(), 0, 10) == []
    assert [r.report_id for r in await service.page(ACME, Filters(scan_id="scan_1"), 0, 10)] == [
        report.report_id
    ]
    clock.advance(days=8)
    assert await service.sweep() == 1
    assert await repository.load(report.report_id) is None
    with pytest.raises(FileNotFoundError):
        await files.read(report.report_id, 0, 10)


async def test_a_report_over_assets_keeps_its_scope_and_is_listed_by_the_scans_it_resolved_to(
    db: AsyncDatabase[Document],
) -> None:
    clock = Clock()
    repository = MongoReportRepository(db)
    scope = Scope(
        ("asset_0123456789abcdef0123", "192.0.2.0/24"),
        clock() - timedelta(days=30),
        clock(),
        hosts=("www.example.test", "192.0.2.0/24"),
    )
    request = ReportRequest(
        ReportType.DIFF, ReportFormat.CSV, ("scan_new", "scan_old"), ("ports",), "t", scope=scope
    )
    report = Report("rep_scope", ACME, request, clock(), clock() + timedelta(days=7))
    await repository.add(report)
    loaded = await repository.get(ACME, "rep_scope", clock())
    assert loaded is not None
    assert loaded.request == request
    listed = await repository.page(ACME, Filters(scan_id="scan_old"), 0, 10, clock())
    assert [r.report_id for r in listed] == ["rep_scope"]
    plain = ReportRequest(ReportType.TECHNICAL, ReportFormat.PDF, ("scan_1",), ("ports",), "t")
    await repository.add(Report("rep_plain", ACME, plain, clock(), clock() + timedelta(days=7)))
    again = await repository.get(ACME, "rep_plain", clock())
    assert again is not None
    assert again.request.scope is None
