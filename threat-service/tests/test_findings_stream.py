"""The finding pipeline on a real broker and store: scan events in, finding events out on the scan's own
stream, read back through the gateway's stream reader in order, once each, and resumable."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from types import SimpleNamespace
from typing import Any

import nats
import pytest
from pipeline_fakes import Ledger, RuleSource
from pymongo import AsyncMongoClient
from test_activity_service import FakeActivityRepository
from test_findings_pipeline import final_event, port_event

from rampart.lib.catalogue import subjects
from rampart.lib.events import DurableConsumer, EventPublisher, ensure_streams
from rampart.lib.outbox import Outbox
from rampart.lib.store import Document
from rampart.scan.v1 import scan_pb2
from rampart_gateway.api.scans.events import StreamEvent, scan_events
from rampart_threat.consumers import SCAN_EVENTS_CONSUMER, ScanEventHandler
from rampart_threat.findings.pipeline import FindingPipeline
from rampart_threat.findings.tally import MongoScanTally
from rampart_threat.service import ActivityService
from tests.servers import Running, ServerMissing, started

pytestmark = pytest.mark.service  # real servers or a real store: the middle tier


@contextlib.contextmanager
def server(name: str) -> Iterator[Running]:
    try:
        with started(name) as running:
            yield running
    except ServerMissing as missing:
        if os.environ.get("CI"):
            raise
        pytest.skip(str(missing))


@pytest.fixture(scope="module")
def broker() -> Iterator[Running]:
    with server("nats-jetstream") as running:
        yield running


@pytest.fixture(scope="module")
def store() -> Iterator[Running]:
    with server("nx-27017") as running:
        yield running


@pytest.fixture
async def platform(broker: Running, store: Running) -> AsyncIterator[Any]:
    """threat-service's scan-event consumer with the pipeline on a fake source and ledger, the real
    outbox and tally; ``publish`` plays scan-service."""
    nc = await nats.connect(f"nats://127.0.0.1:{broker.port}")
    js = nc.jetstream()
    await ensure_streams(js)
    client: AsyncMongoClient[Document] = AsyncMongoClient(
        f"mongodb://127.0.0.1:{store.port}/?directConnection=true"
    )
    db = client[f"findings_{uuid.uuid4().hex[:8]}"]
    tally = MongoScanTally(db)
    pipeline = FindingPipeline(RuleSource(), Ledger(), tally, Outbox(db["outbox"], EventPublisher(js)))
    handler = ScanEventHandler(ActivityService(FakeActivityRepository()), findings=pipeline)
    consumer = asyncio.create_task(DurableConsumer(js, SCAN_EVENTS_CONSUMER, handler).run())
    publisher = EventPublisher(js)

    async def publish(event: scan_pb2.ScanEvent, msg_id: str = "") -> None:
        kind = scan_pb2.ScanEventType.Name(event.type).removeprefix("SCAN_EVENT_TYPE_").lower()
        await publisher.publish(
            subjects.scan_event(event.scan_id, kind), event.SerializeToString(), msg_id or event.event_id
        )

    try:
        yield SimpleNamespace(nc=nc, publish=publish, tally=tally)
    finally:
        consumer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await consumer
        await nc.close()
        await client.close()


async def read(nc: Any, scan_id: str, after: int | None = None) -> list[StreamEvent]:
    scan = scan_pb2.Scan(scan_id=scan_id, status=scan_pb2.SCAN_STATUS_RUNNING)
    async with asyncio.timeout(30):
        return [
            e
            async for e in scan_events(
                SimpleNamespace(nc=nc), scan, after, idle_timeout=20, findings_grace=20
            )
        ]


async def test_findings_reach_the_scan_stream_once_each_in_order_and_a_resume_continues_exactly(
    platform: Any,
) -> None:
    scan_id = f"scan_{uuid.uuid4().hex[:8]}"
    ssh = port_event(scan_id, "127.0.0.1", 22, "ssh")
    await platform.publish(ssh)
    await platform.publish(port_event(scan_id, "127.0.0.1", 80, "http"))
    await platform.publish(ssh, msg_id=f"{ssh.event_id}.again")  # past the broker's de-duplication
    await platform.publish(final_event(scan_id, ports="1-1024"))

    events = await read(platform.nc, scan_id)

    names = [e.name for e in events]
    assert names.count("service_detected") == 3
    assert names.count("complete") == 1
    assert names[-1] == "findings_settled"  # the stream ends there
    findings = [e.data["finding"] for e in events if e.name == "finding"]
    assert sorted((f["port"], f["rule_id"] or f["cve"]) for f in findings) == [
        (22, "CVE-2024-6387"),
        (22, "RMP-SSH-001"),
        (80, "RMP-HTTP-001"),
    ]
    ids = [e.id for e in events]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    assert names.index("finding") > names.index("service_detected")
    assert events[-1].data["findings"] == 3
    assert dict(events[-1].data["by_severity"]) == {"medium": 3}  # the fake ledger's settlement

    first_finding = next(i for i, e in enumerate(events) if e.name == "finding")
    resumed = await read(platform.nc, scan_id, after=events[first_finding].id)
    assert [(e.id, e.name) for e in resumed] == [(e.id, e.name) for e in events[first_finding + 1 :]]

    tally = await platform.tally.tally(scan_id)
    assert tally.hosts == {"127.0.0.1"}
    assert tally.by_severity() == {"medium": 2, "high": 1}
    assert tally.settlement is not None
    (mine,) = await platform.tally.of_scans("org_a", [scan_id, "scan_unknown"])
    assert (mine.scan_id, len(mine.findings)) == (scan_id, 3)
    assert [f.severity for f in mine.ordered()] == ["high", "medium", "medium"]
    assert await platform.tally.of_scans("org_b", [scan_id]) == []
