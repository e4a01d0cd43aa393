"""Sharded scans: a /20 of loopback addresses (4,094 hosts, top-100 ports) on 1, 2 and 4 workers.

Each run starts the whole platform with N scan worker processes (WORKER_CONCURRENCY=2 each),
POSTs one scan of 127.1.0.0/20 (16 shards of 256 hosts) and times POST to ``completed``.
Every probe meets a closed port (loopback answers RST at once), so this measures how the work
spreads, not network waits. Prints the time, probes per second and the speed-up over 1 worker,
and how many progress events the scan published (on SCAN_EVENTS: at most 99, one per percentage
value, docs/engine.md "Progress of a sharded scan").
"""

from __future__ import annotations

import asyncio
import shutil
import sys
import tempfile
import time
from pathlib import Path

import httpx2 as httpx
import nats
import pymongo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rampart.lib.catalogue import subjects
from rampart_devtools.devstack import DevStack

PASSWORD = "shard-Bench-Passw0rd-7"
TARGET, PORTS = "127.1.0.0/20", "top-100"


async def progress_events(stack: DevStack, scan_id: str) -> int:
    """The scan's progress events on the stream (read as scan-service, which owns it)."""
    nc = await nats.connect(stack.nats_url, **stack.certs("scan").nats_options())
    try:
        info = await nc.jetstream().stream_info(
            subjects.SCAN_EVENTS_STREAM, subjects_filter=subjects.scan_event(scan_id, "progress")
        )
        return sum((info.state.subjects or {}).values())
    finally:
        await nc.close()


def run(workers: int) -> tuple[float, int, dict[str, int], int]:
    data_dir = Path(tempfile.mkdtemp(prefix=f"rampart-shards-bench-{workers}-"))
    env = {"SHARD_HOSTS": "256", "WORKER_CONCURRENCY": "2", "LOG_LEVEL": "warning"}
    stack = DevStack.on_free_ports(data_dir, workers=workers, log_level="warning", extra_env=env)
    try:
        stack.start_all()
        stack.wait_health(200, deadline=90)
        client = httpx.Client(base_url=stack.gateway_url, timeout=60)
        account = client.post(
            "/api/v1/auth/register", json={"email": "shards@example.com", "password": PASSWORD}
        ).json()["data"]
        with pymongo.MongoClient(stack.mongodb_url) as store:
            limits = {"requests_per_hour": 10**9, "scans_per_day": 0, "max_hosts_per_scan": 65536}
            store["rampart_auth"]["organizations"].update_one(
                {"_id": account["org_id"]}, {"$set": {"limits": limits}}
            )
        headers = {"Authorization": f"Bearer {account['api_key']}"}
        began = time.monotonic()
        reply = client.post("/api/v1/scans", json={"target": TARGET, "ports": PORTS}, headers=headers)
        reply.raise_for_status()
        scan_id = reply.json()["data"]["scan_id"]
        while True:
            scan = client.get(f"/api/v1/scans/{scan_id}", headers=headers).json()["data"]
            if scan["status"] not in ("queued", "running"):
                break
            time.sleep(0.1)
        elapsed = time.monotonic() - began
        assert scan["status"] == "completed", scan
        client.close()
        events = asyncio.run(progress_events(stack, scan_id))
        return elapsed, scan["shards"]["total"], scan["results"], events
    finally:
        stack.stop_all()
        shutil.rmtree(data_dir, ignore_errors=True)


def main() -> int:
    print(f"\nSharded scan of {TARGET} ({PORTS}) through the platform, POST to completed")
    baseline = 0.0
    for workers in (1, 2, 4):
        elapsed, shards, results, events = run(workers)
        probes = sum(results.values())
        baseline = baseline or elapsed
        print(
            f"  {workers} worker(s): {elapsed:6.2f} s, {shards} shards, {probes:,} probes "
            f"({probes / elapsed:,.0f}/s), speed-up {baseline / elapsed:.2f}x, {events} progress events"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
