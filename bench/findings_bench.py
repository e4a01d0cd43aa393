"""The finding pipeline between a detected service and its ``finding`` event at a stream reader.

A real broker (nats-server with JetStream) and store (nx-27017): threat-service's scan-event consumer
with the pipeline, its outbox and tally; the gateway's own stream reader (what SSE and WebSocket
clients get). The source is synthetic (two findings per service, no knowledge matching: that cost is
matcher_bench's), and the ledger is in memory (the vulnerability store has its own figures), so
this measures the pipeline itself: consumer, outbox, broker, reader.

1. Latency: 200 service_detected events, one every 20 ms; for each, the time from its publication
   to the first of its findings at the reader. Prints p50 / p95 / max.
2. Throughput: 2,000 service_detected events published at once; prints port events per second the
   consumer turns into findings, until the reader has seen every finding.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import nats
from pymongo import AsyncMongoClient

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "threat-service" / "tests")]

from pipeline_fakes import Ledger, RuleSource  # noqa: E402
from test_activity_service import FakeActivityRepository  # noqa: E402
from test_findings_pipeline import final_event, port_event  # noqa: E402

from rampart.lib.catalogue import subjects  # noqa: E402
from rampart.lib.events import DurableConsumer, EventPublisher, ensure_streams  # noqa: E402
from rampart.lib.outbox import Outbox  # noqa: E402
from rampart.lib.store import Document  # noqa: E402
from rampart.scan.v1 import scan_pb2  # noqa: E402
from rampart_gateway.api.scans.events import scan_events  # noqa: E402
from rampart_threat.consumers import SCAN_EVENTS_CONSUMER, ScanEventHandler  # noqa: E402
from rampart_threat.findings.pipeline import FindingPipeline  # noqa: E402
from rampart_threat.findings.tally import MongoScanTally  # noqa: E402
from rampart_threat.service import ActivityService  # noqa: E402
from tests.servers import started  # noqa: E402

LATENCY_PORTS, SPACING = 200, 0.02
THROUGHPUT_PORTS = 2_000


async def follow(nc: Any, scan_id: str, first_seen: dict[int, float], expected: int) -> None:
    """Read the scan's stream as a client would; note when each port's first finding arrives."""
    scan = scan_pb2.Scan(scan_id=scan_id, status=scan_pb2.SCAN_STATUS_RUNNING)
    seen = 0
    reader = scan_events(SimpleNamespace(nc=nc), scan, None, max_buffer=100_000, idle_timeout=120)
    async for event in reader:
        if event.name == "finding":
            first_seen.setdefault(event.data["finding"]["port"], time.perf_counter())
            seen += 1
            if seen == expected:
                return


async def run(
    js: Any, nc: Any, ports: int, spacing: float
) -> tuple[dict[int, float], dict[int, float], float]:
    publisher = EventPublisher(js)
    scan_id = f"scan_{uuid.uuid4().hex[:10]}"
    published: dict[int, float] = {}
    first_seen: dict[int, float] = {}
    reader = asyncio.create_task(follow(nc, scan_id, first_seen, expected=2 * ports))
    await asyncio.sleep(0.2)  # the reader's consumer is in place
    began = time.perf_counter()
    for index in range(ports):
        port = 1000 + index
        event = port_event(scan_id, "127.0.0.1", port, "http")
        published[port] = time.perf_counter()
        subject = subjects.scan_event(scan_id, "service_detected")
        await publisher.publish(subject, event.SerializeToString(), event.event_id)
        if spacing:
            await asyncio.sleep(spacing)
    final = final_event(scan_id, ports="1000-3000")
    await publisher.publish(
        subjects.scan_event(scan_id, "completed"), final.SerializeToString(), final.event_id
    )
    await asyncio.wait_for(reader, 300)
    return published, first_seen, time.perf_counter() - began


async def main() -> None:
    with started("nats-jetstream") as broker, started("nx-27017") as store:
        nc = await nats.connect(f"nats://127.0.0.1:{broker.port}")
        js = nc.jetstream()
        await ensure_streams(js)
        client: AsyncMongoClient[Document] = AsyncMongoClient(
            f"mongodb://127.0.0.1:{store.port}/?directConnection=true"
        )
        db = client["findings_bench"]
        pipeline = FindingPipeline(
            RuleSource(), Ledger(), MongoScanTally(db), Outbox(db["outbox"], EventPublisher(js))
        )
        handler = ScanEventHandler(ActivityService(FakeActivityRepository()), findings=pipeline)
        consumer = asyncio.create_task(DurableConsumer(js, SCAN_EVENTS_CONSUMER, handler).run())
        try:
            published, seen, _ = await run(js, nc, LATENCY_PORTS, SPACING)
            latencies = sorted((seen[port] - published[port]) * 1000 for port in published)
            p95 = latencies[int(len(latencies) * 0.95) - 1]
            print(
                f"service_detected -> finding at the reader ({LATENCY_PORTS} services,"
                f" one per {SPACING * 1000:.0f} ms): p50 {statistics.median(latencies):.1f} ms,"
                f" p95 {p95:.1f} ms, max {latencies[-1]:.1f} ms"
            )
            _, _, elapsed = await run(js, nc, THROUGHPUT_PORTS, 0.0)
            print(
                f"throughput: {THROUGHPUT_PORTS} service events -> {2 * THROUGHPUT_PORTS} findings at the"
                f" reader in {elapsed:.2f} s = {THROUGHPUT_PORTS / elapsed:.0f} port events/s"
            )
        finally:
            consumer.cancel()
            await nc.close()
            await client.close()


if __name__ == "__main__":
    asyncio.run(main())
