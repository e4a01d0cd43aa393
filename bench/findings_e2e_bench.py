"""Issue 11's figures with the real parts (docs/findings-pipeline.md, "Figures").

1. Latency through the whole platform (gateway, scan-service, workers, threat-service as processes, as
   tests/integration/conftest.py starts them): scans of local servers this bench starts (sshd, Redis
   without a password, nginx over HTTP and HTTPS, tests/servers.py); for each ``finding`` event an SSE
   client reads on /api/v1/scans/{id}/stream, its arrival minus the arrival of its port's
   ``service_detected`` event on the same stream. p50 / p95 over the findings of ``--scans`` scans.
   Budget: p95 under 1 s.
2. Throughput with real matching: threat-service's consumer with the real FindingSource
   (``make_finding_source`` over a ``KnowledgeService`` holding the shipped starter set, not the
   300,000-CVE synthetic base: matcher_bench's generator yields parsed records, the catalog reads NVD
   JSON documents, and 300,000 of those do not fit this machine's memory next to the platform), the
   real Mongo ledger and tally on nx-27017, the real outbox and broker, the gateway's stream reader.
   Port events per second until ``findings_settled`` reaches the reader.
3. A full-range (65,535-port) scan of 127.0.0.1 with 1,000 listeners the bench opens, through the
   platform: scan duration (POST to ``complete`` on SSE) with threat-service running and with it
   stopped, and the time from ``complete`` to ``findings_settled``.

Every target is a 127.0.0.1 port this bench opened. Run:
``uv run --frozen python bench/findings_e2e_bench.py [--scans N] [--only latency,throughput,full]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import httpx2 as httpx
import nats
import pymongo
from pymongo import AsyncMongoClient

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "threat-service" / "tests"), str(ROOT / "bench")]

from findings_source_bench import NOW, StarterStore, _port  # noqa: E402
from test_activity_service import FakeActivityRepository  # noqa: E402
from test_findings_pipeline import LIVE, final_event  # noqa: E402

from rampart.lib.catalogue import subjects  # noqa: E402
from rampart.lib.events import EventPublisher, ensure_streams  # noqa: E402
from rampart.lib.logging import configure_logging  # noqa: E402
from rampart.lib.outbox import Outbox  # noqa: E402
from rampart.lib.store import Document  # noqa: E402
from rampart.scan.v1 import scan_pb2  # noqa: E402
from rampart_devtools.devstack import DevStack  # noqa: E402
from rampart_gateway.api.scans.events import scan_events  # noqa: E402
from rampart_threat.consumers import SCAN_EVENTS_CONSUMER, ScanEventBatches, ScanEventHandler  # noqa: E402
from rampart_threat.feeds.service import FeedService  # noqa: E402
from rampart_threat.findings.ledger import MongoFindingLedger  # noqa: E402
from rampart_threat.findings.pipeline import FindingPipeline  # noqa: E402
from rampart_threat.findings.source import make_finding_source  # noqa: E402
from rampart_threat.findings.tally import MongoScanTally  # noqa: E402
from rampart_threat.knowledge.service import KnowledgeService  # noqa: E402
from rampart_threat.service import ActivityService  # noqa: E402
from tests import servers  # noqa: E402

PASSWORD = "findings-Bench-Passw0rd-11"
THROUGHPUT_PORTS = 1_000
FULL_RANGE_LISTENERS = 1_000


def load() -> str:
    return "load average " + " ".join(f"{v:.2f}" for v in os.getloadavg())


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


# -- through the platform ---------------------------------------------------------------------------


def stream(
    client: httpx.Client, key: str, scan_id: str, last: str
) -> list[tuple[float, str, dict[str, Any]]]:
    """The scan's SSE stream, each event with its arrival time (perf_counter), up to ``last``."""
    events: list[tuple[float, str, dict[str, Any]]] = []
    fields: dict[str, str] = {}
    with client.stream(
        "GET", f"/api/v1/scans/{scan_id}/stream", headers={"Authorization": f"Bearer {key}"}, timeout=600
    ) as reply:
        for line in reply.iter_lines():
            if line == "" and "event" in fields:
                events.append((time.perf_counter(), fields["event"], json.loads(fields.get("data", "{}"))))
                if fields["event"] in (last, "error"):
                    break
                fields = {}
            elif line and not line.startswith(":"):
                name, _, value = line.partition(":")
                fields[name] = value.lstrip(" ")
    return events


def start_scan(client: httpx.Client, key: str, body: dict[str, Any]) -> tuple[float, str]:
    began = time.perf_counter()
    reply = client.post("/api/v1/scans", json=body, headers={"Authorization": f"Bearer {key}"})
    reply.raise_for_status()
    return began, str(reply.json()["data"]["scan_id"])


@contextmanager
def platform() -> Iterator[tuple[DevStack, httpx.Client, str]]:
    data_dir = Path(tempfile.mkdtemp(prefix="rampart-findings-bench-"))
    keep = bool(os.environ.get("FINDINGS_BENCH_KEEP"))  # keep the platform's logs (info level) to read
    stack = DevStack.on_free_ports(data_dir, log_level="info" if keep else "warning")
    try:
        stack.start_all()
        stack.wait_health(200, deadline=90)
        with httpx.Client(base_url=stack.gateway_url, timeout=60) as client:
            account = client.post(
                "/api/v1/auth/register", json={"email": "findingsbench@example.com", "password": PASSWORD}
            ).json()["data"]
            with pymongo.MongoClient(stack.mongodb_url) as store:
                limits = {"requests_per_hour": 10**9, "concurrent_scans": 100, "scans_per_day": 0}
                store["rampart_auth"]["organizations"].update_one(
                    {"_id": account["org_id"]}, {"$set": {"limits": limits}}
                )
            yield stack, client, str(account["api_key"])
    finally:
        stack.stop_all()
        if keep:
            print(f"platform logs kept in {data_dir}")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)


def latency(client: httpx.Client, key: str, scans: int) -> None:
    delays: list[float] = []
    with ExitStack() as held:
        ports: list[int] = []
        for name in ("sshd", "redis", "nginx"):
            try:
                server = held.enter_context(servers.started(name))
            except servers.ServerMissing as missing:
                print(f"  ({missing}; left out)")
                continue
            ports.append(server.port)
            if "tls_port" in server.extra:
                ports.append(int(server.extra["tls_port"]))
        body = {
            "target": "127.0.0.1",
            "ports": ",".join(str(p) for p in sorted(ports)),
            "options": {"service_detection": True, "ssl_check": True},
        }
        for _ in range(scans):
            _, scan_id = start_scan(client, key, body)
            detected: dict[int, float] = {}
            for arrived, name, data in stream(client, key, scan_id, "findings_settled"):
                if name == "service_detected":
                    detected.setdefault(int(data["port"]), arrived)
                elif name == "finding":
                    delays.append(arrived - detected[int(data["finding"]["port"])])
    if not delays:
        print("  no finding arrived")
        return
    p95 = percentile(delays, 0.95)
    print(
        f"service_detected -> finding at an SSE client, {scans} scans of {len(ports)} local server ports"
        f" ({len(delays)} findings): p50 {statistics.median(delays) * 1000:.0f} ms,"
        f" p95 {p95 * 1000:.0f} ms, max {max(delays) * 1000:.0f} ms; budget p95 < 1 s:"
        f" {'PASS' if p95 < 1 else 'FAIL'} ({load()})"
    )


ANSWER = b"HTTP/1.0 200 OK\r\nServer: nginx/1.22.1\r\nContent-Length: 0\r\n\r\n"


@contextmanager
def http_listeners(count: int, seed: int = 11) -> Iterator[list[int]]:
    """``count`` tiny HTTP servers on random 127.0.0.1 ports (one event loop in a thread), each
    answering any request with ``Server: nginx/1.22.1``: services the engine detects at once and the
    rules and the knowledge base have findings for."""
    loop = asyncio.new_event_loop()

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(reader.read(4096), 10)
            writer.write(ANSWER)
            await writer.drain()
        writer.close()

    async def open_all() -> list[asyncio.Server]:
        opened: list[asyncio.Server] = []
        for port in random.Random(seed).sample(range(1025, 65000), count * 2):
            if len(opened) == count:
                break
            with contextlib.suppress(OSError):
                opened.append(await asyncio.start_server(answer, "127.0.0.1", port, backlog=64))
        return opened

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    opened = asyncio.run_coroutine_threadsafe(open_all(), loop).result(60)
    try:
        yield [server.sockets[0].getsockname()[1] for server in opened]
    finally:
        for server in opened:
            loop.call_soon_threadsafe(server.close)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)


def settlement_time(stack: DevStack, scan_id: str, deadline: float = 480) -> float | None:
    """When threat-service's tally for the scan has its settlement (polled every 0.5 s; checked
    here, not in the query: nx-27017 matches a missing field with ``$ne: null``)."""
    give_up = time.perf_counter() + deadline
    with pymongo.MongoClient(stack.mongodb_url) as store:
        tallies = store["rampart_threat"]["finding_scans"]
        while time.perf_counter() < give_up:
            document = tallies.find_one({"_id": scan_id}, {"settlement": 1}) or {}
            if document.get("settlement"):
                return time.perf_counter()
            time.sleep(0.5)
    return None


def tallied(stack: DevStack, scan_id: str) -> int:
    with pymongo.MongoClient(stack.mongodb_url) as store:
        document = store["rampart_threat"]["finding_scans"].find_one({"_id": scan_id}) or {}
    return len(document.get("findings") or {})


def full_range(stack: DevStack, client: httpx.Client, key: str, runs: int = 1, stopped: bool = True) -> None:
    body = {"target": "127.0.0.1", "ports": "-", "options": {"service_detection": True}}
    with http_listeners(FULL_RANGE_LISTENERS) as held:
        for threat in [True] * runs + ([False] if stopped else []):
            if not threat:
                stack.stop("threat")
            try:
                began, scan_id = start_scan(client, key, body)
                events = stream(client, key, scan_id, "findings_settled" if threat else "complete")
                complete = next(t for t, name, _ in events if name == "complete")
                opened = sum(1 for _, name, _ in events if name == "port_found")
                findings = sum(1 for _, name, _ in events if name == "finding")
                detected = sum(1 for _, name, _ in events if name == "service_detected")
                line = (
                    f"65,535-port scan of 127.0.0.1, {len(held)} listeners, threat-service"
                    f" {'running' if threat else 'stopped'}: POST -> complete {complete - began:.1f} s,"
                    f" {opened} ports found, {detected} services detected, {findings} findings"
                )
                if threat:
                    settled = next((t for t, name, _ in events if name == "findings_settled"), None)
                    if settled is not None:
                        told = next(data for _, name, data in events if name == "findings_settled")
                        line += f" ({told['findings']} in findings_settled)"
                        last_finding = max(
                            (t for t, name, _ in events if name == "finding"), default=complete
                        )
                        line += f", complete -> last finding on SSE {last_finding - complete:.1f} s"
                    if settled is None:  # the client's stream stopped waiting for it
                        settled = settlement_time(stack, scan_id)
                        findings = tallied(stack, scan_id)
                        line += f" (the stream closed before findings_settled; {findings} in the tally)"
                    if settled is None:
                        line += ", not settled within 480 s of the stream's end"
                    else:
                        line += f", complete -> findings_settled {settled - complete:.1f} s"
                print(f"{line} ({load()})")
            finally:
                if not threat:
                    stack.start("threat")


# -- throughput with the real source and ledger ---------------------------------------------------


async def throughput(ports: int) -> None:
    with servers.started("nats-jetstream") as broker, servers.started("nx-27017") as store_server:
        nc = await nats.connect(f"nats://127.0.0.1:{broker.port}")
        js = nc.jetstream()
        await ensure_streams(js)
        client: AsyncMongoClient[Document] = AsyncMongoClient(
            f"mongodb://127.0.0.1:{store_server.port}/?directConnection=true"
        )
        db = client["findings_e2e_bench"]
        starter = StarterStore()
        catalog = KnowledgeService(cast(Any, starter), FeedService(cast(Any, starter), stale_days=10_000.0))
        ledger = MongoFindingLedger(db, clock=lambda: NOW)
        await ledger.create_indexes()
        pipeline = FindingPipeline(
            make_finding_source(catalog, clock=lambda: NOW),
            ledger,
            MongoScanTally(db),
            Outbox(db["outbox"], EventPublisher(js)),
        )
        handler = ScanEventHandler(ActivityService(FakeActivityRepository()), findings=pipeline)
        consumer = asyncio.create_task(ScanEventBatches(js, SCAN_EVENTS_CONSUMER, handler).run())
        try:
            for _ in range(2):  # the first run also builds the catalog's index and the ledger's indexes
                scan_id = f"scan_{uuid.uuid4().hex[:10]}"
                settled = asyncio.create_task(follow(nc, scan_id))
                await asyncio.sleep(0.2)
                publisher = EventPublisher(js)
                began = time.perf_counter()
                for index in range(ports):
                    event = scan_pb2.ScanEvent(
                        event_id=f"{scan_id}.service.{index}",
                        scan_id=scan_id,
                        owner=LIVE,
                        type=scan_pb2.SCAN_EVENT_TYPE_SERVICE_DETECTED,
                        sequence=1,
                        status=scan_pb2.SCAN_STATUS_RUNNING,
                        profile="standard",
                        port=_port(index),
                    )
                    subject = subjects.scan_event(scan_id, "service_detected")
                    await publisher.publish(subject, event.SerializeToString(), event.event_id)
                final = final_event(scan_id, ports=f"1000-{1000 + ports}")
                await publisher.publish(
                    subjects.scan_event(scan_id, "completed"), final.SerializeToString(), final.event_id
                )
                arrivals = await asyncio.wait_for(settled, 900)
                elapsed = time.perf_counter() - began
            quarter = len(arrivals) // 4
            first = quarter / (arrivals[quarter] - began)
            last = quarter / (arrivals[-1] - arrivals[-1 - quarter])
            print(
                f"throughput, real FindingSource (rules + starter-set CVEs) and Mongo ledger on nx-27017:"
                f" {ports} port events ({len(arrivals)} with findings), findings_settled at the reader after"
                f" {elapsed:.1f} s = {ports / elapsed:.0f} port events/s; first quarter of the ports"
                f" {first:.0f}/s, last quarter {last:.0f}/s ({load()})"
            )
        finally:
            consumer.cancel()
            await nc.close()
            await client.close()


async def follow(nc: Any, scan_id: str) -> list[float]:
    """The gateway's stream reader up to ``findings_settled``; when each port's first finding came."""
    scan = scan_pb2.Scan(scan_id=scan_id, status=scan_pb2.SCAN_STATUS_RUNNING)
    seen: dict[int, float] = {}
    # A client's stream waits 10 s after the scan's end for findings_settled (FINDINGS_GRACE); the
    # consumer falls further behind than that here, so this reader waits as long as it takes.
    async for event in scan_events(
        SimpleNamespace(nc=nc), scan, None, max_buffer=1_000_000, idle_timeout=900, findings_grace=900
    ):
        if event.name == "finding":
            seen.setdefault(event.data["finding"]["port"], time.perf_counter())
        elif event.name == "findings_settled":
            break
    return sorted(seen.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scans", type=int, default=5)
    parser.add_argument("--ports", type=int, default=THROUGHPUT_PORTS)
    parser.add_argument("--only", default="latency,throughput,full")
    parser.add_argument(
        "--full-runs", type=int, default=1, help="full-range scans with threat-service running"
    )
    parser.add_argument(
        "--skip-stopped", action="store_true", help="no full-range scan with threat-service stopped"
    )
    args = parser.parse_args()
    parts = set(args.only.split(","))
    print(f"findings end to end ({load()})")
    if "throughput" in parts:
        configure_logging("findings-bench", "warning")
        asyncio.run(throughput(args.ports))
    if parts & {"latency", "full"}:
        with platform() as (stack, client, key):
            if "latency" in parts:
                latency(client, key, args.scans)
            if "full" in parts:
                full_range(stack, client, key, args.full_runs, not args.skip_stopped)


if __name__ == "__main__":
    main()
