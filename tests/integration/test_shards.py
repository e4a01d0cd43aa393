"""Sharded scans on the test stack's two workers: merge exactly once, kill -9 mid-shard, resume, rate caps.

The stack runs with SHARD_HOSTS=1, so a scan of four loopback addresses is four shards, each a
job of its own that either worker may take.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import httpx2 as httpx
import pymongo

from rampart.common.v1 import common_pb2
from rampart.lib.store import read_time
from rampart.report.v1 import report_pb2, report_pb2_grpc
from rampart_devtools.devstack import DevStack
from tests.integration.conftest import assert_refused, bearer, register
from tests.integration.scanning import wait_for

# Addresses nothing else on the machine listens on: a listener of another test on one of the
# probed ports would otherwise show up as open.
HOSTS = ("127.0.9.1", "127.0.9.2", "127.0.9.3", "127.0.9.4")


@contextmanager
def listener(address: str, silent: bool) -> Iterator[int]:
    """A TCP listener on ``address``; a silent one holds connections open (slow service detection)."""
    server = socket.create_server((address, 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            if silent:
                held.append(conn)
            else:
                conn.close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join(2)
        for conn in held:
            conn.close()
        server.close()


@contextmanager
def one_port_per_host(silent: bool = False) -> Iterator[set[tuple[str, int]]]:
    """One listener on each of HOSTS; the scan covers every listener's port on every host."""
    with ExitStack() as stack:
        yield {(address, stack.enter_context(listener(address, silent))) for address in HOSTS}


def start(api: httpx.Client, key: str, body: dict[str, Any]) -> str:
    reply = api.post("/api/v1/scans", json=body, headers=bearer(key))
    assert reply.status_code == 201, reply.text
    return str(reply.json()["data"]["scan_id"])


def body(open_ports: set[tuple[str, int]], **extra: Any) -> dict[str, Any]:
    ports = ",".join(str(port) for port in sorted({port for _, port in open_ports}))
    return {"targets": list(HOSTS), "ports": ports, **extra}


def found(api: httpx.Client, key: str, scan_id: str) -> list[tuple[str, int]]:
    results = api.get(f"/api/v1/scans/{scan_id}/results", headers=bearer(key)).json()["data"]
    return [(p["host"], p["port"]) for p in results["ports"] if p["state"] == "open"]


def until_final(api: httpx.Client, key: str, scan_id: str, deadline: float = 90.0) -> dict[str, Any]:
    give_up = time.monotonic() + deadline
    while True:
        scan: dict[str, Any] = api.get(f"/api/v1/scans/{scan_id}", headers=bearer(key)).json()["data"]
        if scan["status"] in ("completed", "failed", "cancelled", "timeout") or time.monotonic() > give_up:
            return scan
        time.sleep(0.2)


async def timeline(stack: DevStack, org_id: str, scan_id: str, final: str = "completed") -> list[str]:
    """The event types report-service recorded for the scan (once its final event arrived)."""
    owner = common_pb2.Owner(user_id="x", org_id=org_id)
    async with stack.channel("report") as channel:
        stub = report_pb2_grpc.ReportServiceStub(channel)
        for _ in range(200):
            reply = await stub.GetScanTimeline(
                report_pb2.GetScanTimelineRequest(owner=owner, scan_id=scan_id)
            )
            kinds = [entry.type for entry in reply.entries]
            if final in kinds:
                await asyncio.sleep(0.3)  # anything duplicated would arrive right behind it
                reply = await stub.GetScanTimeline(
                    report_pb2.GetScanTimelineRequest(owner=owner, scan_id=scan_id)
                )
                return [entry.type for entry in reply.entries]
            await asyncio.sleep(0.1)
    raise AssertionError(f"no {final} event for {scan_id}")


async def test_a_sharded_scan_on_two_workers_completes_once_with_every_open_port_once(
    api: httpx.Client, stack: DevStack, store: pymongo.MongoClient
) -> None:
    account = register(api)
    key = account["api_key"]
    with one_port_per_host() as open_ports:
        scan_id = start(api, key, body(open_ports))
        scan = wait_for(api, bearer(key), scan_id)
    assert scan["status"] == "completed", scan
    assert scan["shards"] == {"total": 4, "done": 4}
    assert sorted(found(api, key, scan_id)) == sorted(open_ports)
    assert scan["results"]["open_ports"] == 4
    assert scan["results"]["closed_ports"] == 4 * 4 - 4
    shards = list(store["rampart_scan"]["scan_shards"].find({"scan_id": scan_id}))
    assert sorted(doc["index"] for doc in shards) == [1, 2, 3, 4]
    assert all(doc["done"] for doc in shards)
    kinds = await timeline(stack, account["org_id"], scan_id)
    assert kinds.count("completed") == 1
    assert kinds.count("started") == 1
    assert kinds.count("port_found") == 4


async def test_a_worker_killed_mid_shard_loses_nothing_and_duplicates_nothing(
    api: httpx.Client, healthy: DevStack, store: pymongo.MongoClient
) -> None:
    account = register(api)
    key = account["api_key"]
    shards = store["rampart_scan"]["scan_shards"]
    with one_port_per_host(silent=True) as open_ports:
        scan_id = start(api, key, body(open_ports, options={"service_detection": True}))
        deadline = time.monotonic() + 20
        running = None
        while running is None:  # a shard under a live lease whose port was already found
            assert time.monotonic() < deadline, "no shard started"
            for doc in shards.find({"scan_id": scan_id, "done": False}):
                if doc.get("lease_until", 0) > time.time() and store["rampart_scan"]["scan_ports"].find_one(
                    {"scan_id": scan_id, "host": HOSTS[doc["index"] - 1]}
                ):
                    running = doc
                    break
            await asyncio.sleep(0.05)
        pid = int(running["worker"].rsplit(":", 1)[1])
        victim = next(name for name in healthy.worker_names if healthy.processes[name].pid == pid)
        healthy.stop(victim, signal.SIGKILL)
        scan = wait_for(api, bearer(key), scan_id, deadline=90)
    assert scan["status"] == "completed", scan
    retaken = shards.find_one({"_id": running["_id"]})
    assert retaken["attempts"] == 2
    assert retaken["worker"] != running["worker"]
    assert sorted(found(api, key, scan_id)) == sorted(open_ports)  # every port once
    kinds = await timeline(healthy, account["org_id"], scan_id)
    assert kinds.count("completed") == 1
    assert kinds.count("port_found") == 4  # the rerun shard found its port again: recorded once


async def test_resume_continues_a_cancelled_scan_and_is_refused_for_active_or_completed_ones(
    api: httpx.Client, stack: DevStack, store: pymongo.MongoClient
) -> None:
    account = register(api)
    key = account["api_key"]
    with one_port_per_host(silent=True) as open_ports:
        scan_id = start(api, key, body(open_ports, options={"service_detection": True}))
        wait_for(api, bearer(key), scan_id, ("running",))
        assert_refused(
            api.post(f"/api/v1/scans/{scan_id}/resume", headers=bearer(key)), 409, "SCAN_NOT_RESUMABLE"
        )
        cancelled = api.delete(f"/api/v1/scans/{scan_id}", headers=bearer(key)).json()["data"]
        assert cancelled["status"] == "cancelled", cancelled
        done_before = store["rampart_scan"]["scan_shards"].count_documents({"scan_id": scan_id, "done": True})
        reply = api.post(f"/api/v1/scans/{scan_id}/resume", headers=bearer(key))
        assert reply.status_code == 202, reply.text
        assert (reply.json()["data"]["status"], reply.json()["data"]["resumes"]) == ("queued", 1)
        scan = until_final(api, key, scan_id)  # its stream ended with the cancel: poll the scan
    assert scan["status"] == "completed", scan
    assert scan["shards"] == {"total": 4, "done": 4}
    assert sorted(found(api, key, scan_id)) == sorted(open_ports)
    runs = [doc.get("attempts", 0) for doc in store["rampart_scan"]["scan_shards"].find({"scan_id": scan_id})]
    assert sum(runs) <= 4 + (4 - done_before)  # shards done before the cancel were not run again
    kinds = await timeline(stack, account["org_id"], scan_id)
    assert (kinds.count("cancelled"), kinds.count("completed")) == (1, 1)
    assert_refused(
        api.post(f"/api/v1/scans/{scan_id}/resume", headers=bearer(key)), 409, "SCAN_NOT_RESUMABLE"
    )
    assert api.get(f"/api/v1/scans/{scan_id}", headers=bearer(key)).json()["data"]["status"] == "completed"


def test_a_scan_rate_holds_across_both_workers(api: httpx.Client, store: pymongo.MongoClient) -> None:
    """800 probes at 200/s on two workers: no window may carry more than one second's burst plus the rate."""
    key = register(api)["api_key"]
    rate, ports = 200.0, 200
    scan_id = start(api, key, {"targets": list(HOSTS), "ports": f"40001-{40000 + ports}", "rate": rate})
    scan = wait_for(api, bearer(key), scan_id, deadline=90)
    assert scan["status"] == "completed", scan
    assert scan["rate"] == rate
    probes = len(HOSTS) * ports
    doc = store["rampart_scan"]["scans"].find_one({"_id": scan_id})
    started, completed = read_time(doc["started_at"]), read_time(doc["completed_at"])
    assert started is not None
    assert completed is not None
    elapsed = (completed - started).total_seconds()
    burst = rate  # one second's worth
    assert probes <= burst + rate * elapsed, f"{probes} probes in {elapsed:.2f} s at {rate}/s"
