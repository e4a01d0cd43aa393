"""Scans through the gateway: lifecycle, streams, cancel, timeout, plans, scope, workers, sandbox."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import re
import signal
import socket
import time
from pathlib import Path

import httpx2 as httpx
import jsonschema
import pymongo
import pytest
from pypdf import PdfReader
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from rampart.common.v1 import common_pb2
from rampart.report.v1 import report_pb2, report_pb2_grpc
from rampart_devtools.devstack import WORKERS, DevStack
from tests.integration.conftest import assert_refused, bearer, register, write_scope
from tests.integration.scanning import http_server, read_sse, silent_server, wait_for
from tests.servers import ServerMissing, started

SHARED = Path(__file__).resolve().parents[2].parent / "shared"


def start_scan(api: httpx.Client, key: str, body: dict, **headers: str) -> dict:
    reply = api.post("/api/v1/scans", json=body, headers={**bearer(key), **headers})
    assert reply.status_code == 201, reply.text
    return reply.json()["data"]


def test_a_scan_of_a_local_server_streams_events_and_stores_results(api: httpx.Client) -> None:
    account = register(api)
    key = account["api_key"]
    with http_server() as port:
        created = start_scan(
            api,
            key,
            {
                "target": "127.0.0.1",
                "ports": f"{port - 5}-{port + 5}",
                "options": {"service_detection": True},
            },
        )
        assert created["status"] == "queued"
        assert created["sse_url"].endswith(f"/api/v1/scans/{created['scan_id']}/stream")
        assert created["websocket_url"].startswith("ws://")
        assert created["estimated_duration"] >= 1
        events = read_sse(api, f"/api/v1/scans/{created['scan_id']}/stream", bearer(key))
    names = [e.event for e in events]
    assert names[0] == "progress"
    assert names[-1] == "findings_settled"  # threat-service closes the scan's findings; the stream ends
    complete = next(e for e in events if e.event == "complete")
    assert [e.id for e in events] == sorted(e.id for e in events if e.id)
    found = [e.data for e in events if e.event == "port_found"]
    assert [(f["host"], f["port"], f["state"]) for f in found] == [("127.0.0.1", port, "open")]
    detected = next(e.data for e in events if e.event == "service_detected")
    assert detected["service"]["product"] == "Python http.server"
    assert complete.data["summary"] == {
        "total_ports_scanned": 11,
        "open_ports": 1,
        "closed_ports": 10,
        "filtered_ports": 0,
    }
    results = api.get(f"/api/v1/scans/{created['scan_id']}/results", headers=bearer(key)).json()["data"]
    assert results["status"] == "completed"
    assert results["summary"]["open_ports"] == 1
    assert [(p["port"], p["service"]["name"]) for p in results["ports"]] == [(port, "http")]
    assert results["hosts"][0]["summary"]["total_ports_scanned"] == 11
    scan = api.get(f"/api/v1/scans/{created['scan_id']}", headers=bearer(key)).json()["data"]
    assert (scan["status"], scan["progress"], scan["results"]["open_ports"]) == ("completed", 100, 1)


async def test_the_websocket_carries_the_same_events_and_refuses_with_close_codes(
    api: httpx.Client, stack: DevStack
) -> None:
    account, stranger = register(api), register(api)
    with http_server() as port:
        created = start_scan(api, account["api_key"], {"target": "127.0.0.1", "ports": str(port)})
        frames = []
        async with connect(f"{created['websocket_url']}?api_key={account['api_key']}") as ws:
            async for raw in ws:
                frames.append(json.loads(raw))
    assert frames[-1]["event"] == "findings_settled"
    assert [f["event"] for f in frames].count("complete") == 1
    assert {"event", "data", "id"} == set(frames[0])
    assert [f["data"]["port"] for f in frames if f["event"] == "port_found"] == [port]
    sse = read_sse(api, f"/api/v1/scans/{created['scan_id']}/stream", bearer(account["api_key"]))
    assert [(f["event"], f["id"]) for f in frames] == [(e.event, e.id) for e in sse]

    base = created["websocket_url"]
    ticket = api.post("/api/v1/auth/stream-ticket", json={}, headers=bearer(account["api_key"])).json()[
        "data"
    ]
    async with connect(f"{base}?ticket={ticket['ticket']}") as ws:
        assert json.loads(await ws.recv())["event"] == "progress"
    # a ticket issued for one scan opens that scan's streams only
    other_scan = start_scan(api, account["api_key"], {"target": "127.0.0.1", "ports": "1"})["scan_id"]
    scoped = api.post(
        "/api/v1/auth/stream-ticket", json={"scope": other_scan}, headers=bearer(account["api_key"])
    ).json()["data"]["ticket"]
    bad_scope = api.post(
        "/api/v1/auth/stream-ticket", json={"scope": "../admin"}, headers=bearer(account["api_key"])
    )
    assert_refused(bad_scope, 422, "VALIDATION_ERROR")
    for query, code in (
        (f"?ticket={ticket['ticket']}", 4401),
        (f"?ticket={scoped}", 4401),
        ("?api_key=sk_live_" + "x" * 32, 4401),
        ("", 4401),
        (f"?api_key={stranger['api_key']}", 4404),
    ):
        with pytest.raises(ConnectionClosed) as closed:
            async with connect(base + query) as ws:
                await ws.recv()
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == code, query


def test_last_event_id_resumes_with_exactly_what_was_missed(api: httpx.Client) -> None:
    key = register(api)["api_key"]
    with http_server() as port:
        created = start_scan(
            api,
            key,
            {
                "target": "127.0.0.1",
                "ports": f"{port - 3}-{port + 3}",
                "options": {"service_detection": True},
            },
        )
        everything = read_sse(api, f"/api/v1/scans/{created['scan_id']}/stream", bearer(key))
    assert len(everything) >= 4
    cut = everything[1]
    resumed = read_sse(
        api, f"/api/v1/scans/{created['scan_id']}/stream", {**bearer(key), "Last-Event-ID": str(cut.id)}
    )
    assert [(e.id, e.event) for e in resumed] == [(e.id, e.event) for e in everything[2:]]
    late = read_sse(api, f"/api/v1/scans/{created['scan_id']}/stream", bearer(key))
    assert [e.id for e in late] == [e.id for e in everything]  # a late client gets the whole history


def test_cancel_stops_a_running_scan_within_a_second(api: httpx.Client) -> None:
    key = register(api)["api_key"]
    with silent_server() as port:
        created = start_scan(
            api, key, {"target": "127.0.0.1", "ports": str(port), "options": {"service_detection": True}}
        )
        wait_for(api, bearer(key), created["scan_id"], ("running",))
        time.sleep(0.3)  # detection is under way on the silent port
        began = time.monotonic()
        reply = api.delete(f"/api/v1/scans/{created['scan_id']}", headers=bearer(key))
        assert reply.status_code == 200
        scan = wait_for(api, bearer(key), created["scan_id"], deadline=5)
        assert time.monotonic() - began < 2.0
    assert scan["status"] == "cancelled"
    assert scan["error"]["code"] == "SCAN_CANCELLED"
    events = read_sse(api, f"/api/v1/scans/{created['scan_id']}/stream", bearer(key))
    assert events[-1].event == "findings_settled"
    (final,) = [e for e in events if e.event == "error"]
    assert final.data["error"]["code"] == "SCAN_CANCELLED"
    again = api.delete(f"/api/v1/scans/{created['scan_id']}", headers=bearer(key)).json()["data"]
    assert again["status"] == "cancelled"  # cancelling a finished scan changes nothing


def test_max_duration_stops_the_scan_with_its_partial_results(api: httpx.Client) -> None:
    key = register(api)["api_key"]
    with silent_server() as port:
        created = start_scan(
            api,
            key,
            {
                "targets": ["127.0.0.1"],
                "ports": str(port),
                "max_duration": 0.05,
                "options": {"service_detection": True},
            },
        )
        scan = wait_for(api, bearer(key), created["scan_id"], deadline=30)
    assert scan["status"] == "timeout"
    assert scan["error"]["code"] == "SCAN_TIMEOUT"
    results = api.get(f"/api/v1/scans/{created['scan_id']}/results", headers=bearer(key)).json()["data"]
    assert [p["port"] for p in results["ports"]] == [port]  # found before the deadline
    assert results["error"]["code"] == "SCAN_TIMEOUT"


def test_plan_limits_refuse_scans_beyond_concurrency_and_daily_quota(
    api: httpx.Client, store: pymongo.MongoClient
) -> None:
    account = register(api)
    store["rampart_auth"]["organizations"].update_one(
        {"_id": account["org_id"]}, {"$set": {"limits": {"concurrent_scans": 1, "scans_per_day": 2}}}
    )
    key = account["api_key"]
    with silent_server() as port:
        first = start_scan(
            api, key, {"target": "127.0.0.1", "ports": str(port), "options": {"service_detection": True}}
        )
        body = assert_refused(
            api.post("/api/v1/scans", json={"target": "127.0.0.1", "ports": "1"}, headers=bearer(key)),
            429,
            "CONCURRENT_LIMIT_EXCEEDED",
        )
        assert body["error"]["details"]["limit"] == 1
        api.delete(f"/api/v1/scans/{first['scan_id']}", headers=bearer(key))
        wait_for(api, bearer(key), first["scan_id"])
    second = start_scan(api, key, {"target": "127.0.0.1", "ports": "1"})  # the slot is free again
    wait_for(api, bearer(key), second["scan_id"])
    assert_refused(
        api.post("/api/v1/scans", json={"target": "127.0.0.1", "ports": "1"}, headers=bearer(key)),
        429,
        "SCAN_QUOTA_EXCEEDED",
    )
    listed = api.get("/api/v1/scans", headers=bearer(key)).json()["data"]
    assert listed["total"] == 2  # refusals created nothing


def test_scope_refusals_happen_before_any_packet(api: httpx.Client, stack: DevStack) -> None:
    account = register(api)
    key = account["api_key"]
    for target in ("10.0.0.1", "169.254.169.254", "224.0.0.1"):
        body = assert_refused(
            api.post("/api/v1/scans", json={"target": target, "ports": "80"}, headers=bearer(key)),
            403,
            "TARGET_NOT_ALLOWED",
        )
        assert body["error"]["message"] == f"{target} is outside the authorised scope"
        assert body["error"]["details"]["value"] == target
    bad = assert_refused(
        api.post("/api/v1/scans", json={"target": "invalid..host"}, headers=bearer(key)),
        400,
        "INVALID_TARGET",
    )
    assert bad["error"]["details"] == {"field": "target", "value": "invalid..host"}
    ports = assert_refused(
        api.post("/api/v1/scans", json={"target": "127.0.0.1", "ports": "1-99999"}, headers=bearer(key)),
        400,
        "INVALID_PORT_SPEC",
    )
    assert ports["error"]["details"]["part"] == "99999"
    # This organisation may scan 127.0.0.2 only: "localhost" resolves to 127.0.0.1 and is refused.
    write_scope(stack.data_dir / "scope.json", {account["org_id"]: {"allow": ["127.0.0.2/32"]}})
    try:
        refused = assert_refused(
            api.post("/api/v1/scans", json={"target": "localhost", "ports": "80"}, headers=bearer(key)),
            403,
            "TARGET_NOT_ALLOWED",
        )
        assert refused["error"]["message"] == "localhost is outside the authorised scope"  # no address
        start_scan(api, key, {"target": "127.0.0.2", "ports": "80"})
    finally:
        write_scope(stack.data_dir / "scope.json", {})
    assert api.get("/api/v1/scans", headers=bearer(key)).json()["data"]["total"] == 1


def test_the_platform_never_scans_itself(api: httpx.Client, stack: DevStack) -> None:
    key = register(api)["api_key"]
    gateway = stack.ports["gateway"]
    created = start_scan(api, key, {"target": "127.0.0.1", "ports": f"{gateway}"})
    results = wait_for(api, bearer(key), created["scan_id"])
    assert results["excluded_endpoints"] == [f"127.0.0.1:{gateway}"]
    ports = api.get(f"/api/v1/scans/{created['scan_id']}/results", headers=bearer(key)).json()["data"][
        "ports"
    ]
    assert ports == []


async def test_a_worker_killed_mid_scan_loses_nothing_and_counts_nothing_twice(
    api: httpx.Client, healthy: DevStack, store: pymongo.MongoClient
) -> None:
    key = register(api)["api_key"]
    with silent_server() as port:
        created = start_scan(
            api,
            key,
            {
                "target": "127.0.0.1",
                "ports": f"{port - 2}-{port + 2}",
                "options": {"service_detection": True},
            },
        )
        scan_id = created["scan_id"]
        wait_for(api, bearer(key), scan_id, ("running",))
        deadline = time.monotonic() + 10
        while not store["rampart_scan"]["scan_ports"].find_one({"scan_id": scan_id}):
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        pid = int(store["rampart_scan"]["scans"].find_one({"_id": scan_id})["worker"].rsplit(":", 1)[1])
        victim = next(name for name in WORKERS if healthy.processes[name].pid == pid)
        healthy.stop(victim, signal.SIGKILL)
        scan = wait_for(api, bearer(key), scan_id, deadline=60)
    assert scan["status"] == "completed"
    doc = store["rampart_scan"]["scans"].find_one({"_id": scan_id})
    assert doc["attempts"] == 2
    assert doc["worker"].rsplit(":", 1)[1] != str(pid)
    results = api.get(f"/api/v1/scans/{scan_id}/results", headers=bearer(key)).json()["data"]
    assert [p["port"] for p in results["ports"]] == [port]
    assert results["summary"]["total_ports_scanned"] == 5
    owner = common_pb2.Owner(user_id="x", org_id=doc["org_id"])
    async with healthy.channel("report") as channel:
        stub = report_pb2_grpc.ReportServiceStub(channel)
        for _ in range(100):
            timeline = await stub.GetScanTimeline(
                report_pb2.GetScanTimelineRequest(owner=owner, scan_id=scan_id)
            )
            if any(e.type == "completed" for e in timeline.entries):
                break
            await asyncio.sleep(0.1)
    kinds = [entry.type for entry in timeline.entries]
    assert kinds.count("completed") == 1
    assert kinds.count("started") == 1
    assert kinds.count("port_found") == 1  # found twice, recorded once


def test_sandbox_scans_are_deterministic_and_send_no_packet(api: httpx.Client) -> None:
    account = register(api)
    test_key = api.post("/api/v1/api-keys", json={"mode": "test"}, headers=bearer(account["api_key"])).json()[
        "data"
    ]
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.setblocking(False)
        port = listener.getsockname()[1]
        body = {
            "target": "127.0.0.1",
            "ports": f"1-1024,{port}",
            "options": {"service_detection": True, "os_detection": True},
        }
        runs = []
        for _ in range(2):
            created = start_scan(api, test_key["api_key"], body)
            assert created["sandbox"] is True
            wait_for(api, bearer(test_key["api_key"]), created["scan_id"])
            runs.append(
                api.get(
                    f"/api/v1/scans/{created['scan_id']}/results", headers=bearer(test_key["api_key"])
                ).json()["data"]
            )
        with pytest.raises(BlockingIOError):
            listener.accept()  # nobody knocked
    first, second = runs
    assert first["sandbox"] is True
    assert first["ports"]
    assert [(p["port"], p["service"]["product"]) for p in first["ports"]] == [
        (p["port"], p["service"]["product"]) for p in second["ports"]
    ]
    assert port not in [p["port"] for p in first["ports"]]
    unresolvable = start_scan(
        api, test_key["api_key"], {"target": "sandbox-only.invalid", "ports": "top-100"}
    )
    assert wait_for(api, bearer(test_key["api_key"]), unresolvable["scan_id"])["status"] == "completed"


def test_another_tenant_gets_404_on_every_scan_endpoint(api: httpx.Client) -> None:
    owner, stranger = register(api), register(api)
    test_key = api.post("/api/v1/api-keys", json={"mode": "test"}, headers=bearer(owner["api_key"])).json()[
        "data"
    ]
    created = start_scan(api, test_key["api_key"], {"target": "127.0.0.1", "ports": "22,80"})
    wait_for(api, bearer(test_key["api_key"]), created["scan_id"])
    scan = f"/api/v1/scans/{created['scan_id']}"
    for method, path in (
        ("GET", scan),
        ("GET", f"{scan}/results"),
        ("GET", f"{scan}/export?format=csv"),
        ("GET", f"{scan}/stream"),
        ("DELETE", scan),
        ("DELETE", f"{scan}/results"),
    ):
        body = assert_refused(
            api.request(method, path, headers=bearer(stranger["api_key"])), 404, "SCAN_NOT_FOUND"
        )
        assert created["scan_id"] not in json.dumps(body["error"]["message"])
    assert api.get("/api/v1/scans", headers=bearer(stranger["api_key"])).json()["data"]["total"] == 0
    assert api.get(scan, headers=bearer(test_key["api_key"])).status_code == 200
    # the owner's live key is in the other world (docs/security/keys.md)
    assert api.get(scan, headers=bearer(owner["api_key"])).status_code == 404


def test_an_idempotency_key_makes_a_retried_post_return_the_same_scan(api: httpx.Client) -> None:
    key = register(api)["api_key"]
    body = {"target": "127.0.0.1", "ports": "1-10"}
    first = api.post("/api/v1/scans", json=body, headers={**bearer(key), "Idempotency-Key": "retry-1"})
    again = api.post("/api/v1/scans", json=body, headers={**bearer(key), "Idempotency-Key": "retry-1"})
    assert first.status_code == again.status_code == 201
    assert first.json()["data"]["scan_id"] == again.json()["data"]["scan_id"]
    assert again.headers["idempotent-replayed"] == "true"
    other = api.post(
        "/api/v1/scans", json={**body, "ports": "1-11"}, headers={**bearer(key), "Idempotency-Key": "retry-1"}
    )
    assert_refused(other, 409, "IDEMPOTENCY_KEY_REUSED")
    assert api.get("/api/v1/scans", headers=bearer(key)).json()["data"]["total"] == 1


def test_listing_filters_sorts_and_pages_with_a_stable_cursor(api: httpx.Client) -> None:
    account = register(api)
    key = api.post("/api/v1/api-keys", json={"mode": "test"}, headers=bearer(account["api_key"])).json()[
        "data"
    ]["api_key"]
    made = []
    for i in range(1, 6):  # one after another: the free plan runs two at a time
        made.append(start_scan(api, key, {"target": f"127.0.0.{i}", "ports": "22"})["scan_id"])
        wait_for(api, bearer(key), made[-1])
    page = api.get("/api/v1/scans?per_page=2", headers=bearer(key)).json()["data"]
    assert (page["total"], page["pages"], page["per_page"]) == (5, 3, 2)
    assert [s["scan_id"] for s in page["items"]] == made[::-1][:2]
    seen, cursor = [], None
    while True:
        query = f"?per_page=2&cursor={cursor}" if cursor else "?per_page=2"
        data = api.get(f"/api/v1/scans{query}", headers=bearer(key)).json()["data"]
        seen += [s["scan_id"] for s in data["items"]]
        cursor = data["next_cursor"]
        if not cursor:
            break
    assert seen == made[::-1]
    oldest = api.get("/api/v1/scans?order=asc&per_page=1", headers=bearer(key)).json()["data"]["items"]
    assert oldest[0]["scan_id"] == made[0]
    one = api.get("/api/v1/scans?target=127.0.0.3", headers=bearer(key)).json()["data"]
    assert [s["scan_id"] for s in one["items"]] == [made[2]]
    done = api.get("/api/v1/scans?status=completed", headers=bearer(key)).json()["data"]
    assert done["total"] == 5
    for query, field in (
        ("?status=bogus", "status"),
        ("?per_page=500", "per_page"),
        ("?sort=owner", "sort"),
        ("?cursor=!!", "cursor"),
    ):
        body = assert_refused(api.get(f"/api/v1/scans{query}", headers=bearer(key)), 422, "VALIDATION_ERROR")
        assert body["error"]["details"]["field"] == field


def test_every_export_format_of_a_real_scan_then_deleting_results(api: httpx.Client) -> None:
    """Exports are made by report-service, which reads the scan from scan-service as the caller."""
    key = register(api)["api_key"]
    with http_server() as port:
        created = start_scan(
            api, key, {"target": "127.0.0.1", "ports": str(port), "options": {"service_detection": True}}
        )
        wait_for(api, bearer(key), created["scan_id"])
    scan_id = created["scan_id"]
    scan = f"/api/v1/scans/{scan_id}"
    exported = api.get(f"{scan}/export?format=csv", headers=bearer(key))
    assert exported.headers["content-type"].startswith("text/csv")
    assert exported.headers["content-disposition"] == f'attachment; filename="{scan_id}-ports.csv"'
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [(r["port"], r["state"], r["product"]) for r in rows] == [
        (str(port), "open", "Python http.server")
    ]
    as_json = api.get(f"{scan}/export?format=json", headers=bearer(key)).json()
    assert (as_json["scan"]["scan_id"], as_json["ports"][0]["port"]) == (scan_id, port)
    sarif = api.get(f"{scan}/export?format=sarif", headers=bearer(key))
    assert sarif.headers["content-type"] == "application/sarif+json"
    schema = json.loads((SHARED / "schemas" / "sarif-schema-2.1.0.json").read_text())
    jsonschema.validators.validator_for(schema)(schema).validate(sarif.json())
    html = api.get(f"{scan}/export?format=html", headers=bearer(key))
    assert html.headers["content-type"] == "text/html; charset=utf-8"
    assert "Python http.server" in html.text
    assert not re.search(r"""(?:src|href)=["'](?!#)|url\(""", html.text)
    pdf = api.get(f"{scan}/export?format=pdf", headers=bearer(key))
    assert pdf.headers["content-type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert f"{port}/tcp" in text
    assert_refused(api.get(f"{scan}/export?format=xml", headers=bearer(key)), 422, "VALIDATION_ERROR")
    deleted = api.delete(f"{scan}/results", headers=bearer(key)).json()["data"]
    assert deleted["deleted_ports"] == 1
    assert api.get(f"{scan}/results", headers=bearer(key)).json()["data"]["ports"] == []


def test_the_exports_of_a_real_scan_of_redis_carry_its_findings(api: httpx.Client) -> None:
    """An unauthenticated Redis: threat-service records RMP-AUTH-001; every format shows it."""
    key = register(api)["api_key"]
    try:
        with started("redis") as redis:
            body = {"target": "127.0.0.1", "ports": str(redis.port), "options": {"service_detection": True}}
            created = start_scan(api, key, body)
            wait_for(api, bearer(key), created["scan_id"])
    except ServerMissing as missing:
        if os.environ.get("CI"):
            raise
        pytest.skip(str(missing))
    scan = f"/api/v1/scans/{created['scan_id']}"
    deadline = time.monotonic() + 30  # findings are recorded from the scan's events, just after it ends
    while not (exported := api.get(f"{scan}/export?format=json", headers=bearer(key)).json())["findings"]:
        assert time.monotonic() < deadline, exported
        time.sleep(0.2)
    [redis_auth] = [f for f in exported["findings"] if f["id"] == "RMP-AUTH-001"]
    assert (redis_auth["port"], redis_auth["evidence"]["redis.auth"]) == (redis.port, "none")
    sarif = api.get(f"{scan}/export?format=sarif", headers=bearer(key)).json()
    schema = json.loads((SHARED / "schemas" / "sarif-schema-2.1.0.json").read_text())
    jsonschema.validators.validator_for(schema)(schema).validate(sarif)
    [result] = [r for r in sarif["runs"][0]["results"] if r["ruleId"] == "RMP-AUTH-001"]
    assert result["partialFingerprints"] == {"rampart/v1": redis_auth["fingerprint"]}
    assert (
        result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        == f"tcp://127.0.0.1:{redis.port}"
    )
    rows = csv.DictReader(
        io.StringIO(api.get(f"{scan}/export?format=csv&kind=findings", headers=bearer(key)).text)
    )
    assert redis_auth["fingerprint"] in [row["fingerprint"] for row in rows]
    html = api.get(f"{scan}/export?format=html", headers=bearer(key)).text
    assert "Redis answers without authentication" in html
    pdf = api.get(f"{scan}/export?format=pdf", headers=bearer(key)).content
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "RMP-AUTH-001" in text


async def test_a_client_that_falls_too_far_behind_is_told_and_disconnected(stack: DevStack) -> None:
    """Drive the gateway's stream source against the real broker: while the client does not read,
    more events arrive than its buffer holds; the next thing it gets is CLIENT_TOO_SLOW."""
    import nats as nats_client

    from rampart.scan.v1 import scan_pb2
    from rampart_gateway.api.scans.events import scan_events
    from rampart_gateway.clients import BrokerLink
    from rampart_gateway.principal import Authenticator

    scan_id = f"scan_slow{time.monotonic_ns()}"
    auth_channel = stack.channel("auth")
    link = BrokerLink(stack.nats_url, Authenticator(auth_channel, 30, 5), stack.certs("gateway"))
    link.start()
    for _ in range(500):  # up to 10 s
        if link.nc is not None and link.nc.is_connected:
            break
        await asyncio.sleep(0.02)
    publisher = await nats_client.connect(stack.nats_url, **stack.certs("scan-worker").nats_options())
    try:
        js = publisher.jetstream()
        running = scan_pb2.Scan(scan_id=scan_id, status=scan_pb2.SCAN_STATUS_RUNNING)

        def progress(n: int) -> bytes:
            return scan_pb2.ScanEvent(
                event_id=f"{scan_id}.p{n}",
                scan_id=scan_id,
                status=running.status,
                type=scan_pb2.SCAN_EVENT_TYPE_PROGRESS,
                progress=scan_pb2.Progress(percent=n % 100),
            ).SerializeToString()

        await js.publish(f"scan.events.{scan_id}.progress", progress(0))
        events = scan_events(link, running, None, max_buffer=20)
        first = await anext(events)
        assert first.name == "progress"
        for n in range(1, 60):  # the client is not reading
            await js.publish(f"scan.events.{scan_id}.progress", progress(n))
        await asyncio.sleep(0.5)
        received = [event async for event in events]
    finally:
        await publisher.close()
        await link.close()
        await auth_channel.close()
    assert received[-1].name == "error"
    assert received[-1].data["error"]["code"] == "CLIENT_TOO_SLOW"
    assert len(received) <= 21  # what fit in the buffer, then the notice
