"""Accepted work is never lost, never doubled: kill -9 during bursts of keyed POSTs with retries.

Clients retry like a careful SDK: the same Idempotency-Key on every retry, on connection
errors and 5xx, until a deadline. Afterwards every accepted scan reached a final state once,
no key produced two scans, and the organisation can start its full concurrency again.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from typing import Any

import grpc
import httpx2 as httpx
import pymongo
import pytest

from rampart.common.v1 import common_pb2
from rampart.report.v1 import report_pb2, report_pb2_grpc
from rampart_devtools.devstack import DevStack
from tests.integration.conftest import bearer, register
from tests.integration.scanning import FINAL, http_server, silent_server

CONCURRENCY = 4


def keyed_post(url: str, key: str, body: dict[str, Any], idem: str, deadline: float) -> dict[str, Any]:
    """POST until a definite answer (2xx/4xx), retrying errors and 5xx with the same key."""
    last: Any = None
    while time.monotonic() < deadline:
        try:
            with httpx.Client(base_url=url, timeout=10) as client:
                reply = client.post(
                    "/api/v1/scans", json=body, headers={**bearer(key), "Idempotency-Key": idem}
                )
            if reply.status_code < 500:
                assert reply.status_code == 201, reply.text
                data: dict[str, Any] = reply.json()["data"]
                return data
            last = reply.text
        except httpx.TransportError as error:
            last = error
        time.sleep(0.2)
    raise AssertionError(f"{idem} not accepted before the deadline: {last!r}")


def burst(
    url: str, key: str, body: dict[str, Any], keys: list[str], during: Callable[[], None]
) -> dict[str, str]:
    """Send one keyed POST per key from threads, run ``during`` once the first is accepted."""
    answers: dict[str, str] = {}
    errors: list[BaseException] = []
    deadline = time.monotonic() + 60

    def client(idem: str) -> None:
        try:
            answers[idem] = keyed_post(url, key, body, idem, deadline)["scan_id"]
        except BaseException as error:  # reported by the test thread
            errors.append(error)

    threads = [threading.Thread(target=client, args=(idem,)) for idem in keys]
    threads[0].start()
    threads[0].join(30)
    for thread in threads[1:]:
        thread.start()
    during()
    for thread in threads:
        thread.join(70)
    assert not errors, errors
    return answers


def final_state(api: httpx.Client, key: str, scan_id: str, deadline: float) -> dict[str, Any]:
    last: dict[str, Any] = {}
    while time.monotonic() < deadline:
        reply = api.get(f"/api/v1/scans/{scan_id}", headers=bearer(key))
        if reply.status_code == 200:
            last = reply.json()["data"]
            if last["status"] in FINAL:
                return last
        time.sleep(0.2)
    raise AssertionError(f"{scan_id} never finished: {last}")


def completed_events(stack: DevStack, org_id: str, scan_id: str) -> list[str]:
    owner = common_pb2.Owner(user_id="x", org_id=org_id)
    with grpc.secure_channel(
        stack.address("report"), stack.certs("gateway").channel_credentials()
    ) as channel:
        stub = report_pb2_grpc.ReportServiceStub(channel)
        deadline = time.monotonic() + 30
        while True:
            timeline = stub.GetScanTimeline(report_pb2.GetScanTimelineRequest(owner=owner, scan_id=scan_id))
            kinds = [entry.type for entry in timeline.entries]
            if any(kind in FINAL for kind in kinds) or time.monotonic() > deadline:
                return [kind for kind in kinds if kind in FINAL]
            time.sleep(0.1)


@pytest.mark.timeout(240)
def test_kill_9_of_each_process_mid_burst_loses_and_doubles_nothing(
    api: httpx.Client, healthy: DevStack, store: pymongo.MongoClient
) -> None:
    account = register(api)
    key, org = account["api_key"], account["org_id"]
    limits = {"concurrent_scans": CONCURRENCY, "scans_per_day": 0, "requests_per_hour": 100_000}
    store["rampart_auth"]["organizations"].update_one({"_id": org}, {"$set": {"limits": limits}})
    accepted: dict[str, str] = {}
    with http_server() as port:
        body = {"target": "127.0.0.1", "ports": str(port)}
        for victim in ("scan", "store", "nats", "gateway"):

            def kill_and_restart(victim: str = victim) -> None:
                healthy.stop(victim, signal.SIGKILL)
                time.sleep(0.3)  # the burst's retries meet the outage
                healthy.start(victim)

            keys = [f"{victim}-{n}" for n in range(3)]
            accepted.update(burst(healthy.gateway_url, key, body, keys, kill_and_restart))
            for scan_id in accepted.values():  # finish the round: slots free for the next
                final_state(api, key, scan_id, time.monotonic() + 60)
    assert len(accepted) == 12
    listed = api.get("/api/v1/scans?per_page=100", headers=bearer(key)).json()["data"]
    assert listed["total"] == 12  # one scan per key, however often it was retried
    assert sorted(s["scan_id"] for s in listed["items"]) == sorted(accepted.values())
    for scan_id in accepted.values():
        assert final_state(api, key, scan_id, time.monotonic() + 5)["status"] == "completed"
        assert completed_events(healthy, org, scan_id) == ["completed"]
    # No slot leaked: the organisation can hold its full concurrency again, and not one more.
    with silent_server() as quiet:
        slow = {"target": "127.0.0.1", "ports": str(quiet), "options": {"service_detection": True}}
        held = [api.post("/api/v1/scans", json=slow, headers=bearer(key)) for _ in range(CONCURRENCY)]
        assert [reply.status_code for reply in held] == [201] * CONCURRENCY
        over = api.post("/api/v1/scans", json=slow, headers=bearer(key))
        assert over.status_code == 429
        for reply in held:
            api.delete(f"/api/v1/scans/{reply.json()['data']['scan_id']}", headers=bearer(key))


def test_scans_on_two_workers_each_run_exactly_once(api: httpx.Client, store: pymongo.MongoClient) -> None:
    """Workers at capacity for longer than ack_wait: no job runs twice (attempts counts runs)."""
    account = register(api)
    key, org = account["api_key"], account["org_id"]
    limits = {"concurrent_scans": 10, "scans_per_day": 0, "requests_per_hour": 100_000}
    store["rampart_auth"]["organizations"].update_one({"_id": org}, {"$set": {"limits": limits}})
    with silent_server() as quiet, http_server() as port:
        slow = {"target": "127.0.0.1", "ports": str(quiet), "options": {"service_detection": True}}
        fast = {"target": "127.0.0.1", "ports": str(port)}
        ids = []
        for n in range(10):
            reply = api.post("/api/v1/scans", json=slow if n % 2 == 0 else fast, headers=bearer(key))
            assert reply.status_code == 201, reply.text
            ids.append(reply.json()["data"]["scan_id"])
        for scan_id in ids:
            final_state(api, key, scan_id, time.monotonic() + 90)
    runs = {doc["_id"]: doc["attempts"] for doc in store["rampart_scan"]["scans"].find({"org_id": org})}
    assert runs == dict.fromkeys(ids, 1)
