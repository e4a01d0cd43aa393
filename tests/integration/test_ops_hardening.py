"""Ops hardening through real gateways: trusted proxies, stream caps and the idle timeout.

The session stack runs with TRUSTED_PROXIES unset; a second gateway of the same platform
runs with TRUSTED_PROXIES=127.0.0.1/32 and a short STREAM_IDLE_TIMEOUT.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import httpx2 as httpx
import pymongo
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from rampart_devtools.devstack import WORKERS, DevStack
from rampart_devtools.ports import free_port, port_open
from tests.integration.conftest import assert_refused, bearer, register

IDLE_SECONDS = 20  # far longer than a released slot takes to be reusable


def documentation_address() -> str:
    """A fresh documentation address (2001:db8::/32): only ever a header value, never a destination."""
    return f"2001:db8::{random.getrandbits(16):x}:{random.getrandbits(16):x}"


def remaining(base_url: str, forwarded_for: str) -> int:
    reply = httpx.get(
        f"{base_url}/api/v1/user/profile", headers={"X-Forwarded-For": forwarded_for}, timeout=10
    )
    assert reply.status_code == 401, reply.text
    return int(reply.headers["x-ratelimit-remaining"])


@pytest.fixture(scope="module")
def proxied_gateway(stack: DevStack) -> Iterator[str]:
    """Another gateway of the same platform, behind a "proxy" at 127.0.0.1."""
    argv, env = stack.command("gateway")
    port = free_port()
    env.update(PORT=str(port), TRUSTED_PROXIES="127.0.0.1/32", STREAM_IDLE_TIMEOUT=str(IDLE_SECONDS))
    log = stack.log_path("gateway-proxied")
    with log.open("ab") as out:
        process = subprocess.Popen(
            argv, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    try:
        deadline = time.monotonic() + 30
        while not port_open(port):
            assert process.poll() is None, log.read_text()[-2000:]
            assert time.monotonic() < deadline, "the second gateway did not open its port"
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_without_trusted_proxies_forwarded_addresses_share_the_peers_bucket(stack: DevStack) -> None:
    """uvicorn no longer believes X-Forwarded-For from 127.0.0.1: one anonymous bucket for all."""
    first = remaining(stack.gateway_url, documentation_address())
    remaining(stack.gateway_url, documentation_address())
    third = remaining(stack.gateway_url, documentation_address())
    assert third < first  # counted in one bucket: the TCP peer's (fresh buckets would all say limit-1)


def test_behind_a_trusted_proxy_each_client_gets_its_own_bucket(proxied_gateway: str) -> None:
    limit = int(httpx.get(f"{proxied_gateway}/api/v1/user/profile", timeout=10).headers["x-ratelimit-limit"])
    client_a, client_b = documentation_address(), documentation_address()
    assert remaining(proxied_gateway, client_a) == limit - 1
    assert remaining(proxied_gateway, client_b) == limit - 1
    # a hop the client wrote itself (left of what the proxy appended) is not believed
    assert remaining(proxied_gateway, f"198.51.100.7, {client_a}") == limit - 2
    assert remaining(proxied_gateway, f"{client_b}, not-an-address") <= limit - 2  # junk: the proxy's bucket


async def _events(reply: Any) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    fields: dict[str, str] = {}
    async for line in reply.aiter_lines():
        if line == "" and "event" in fields:
            events.append({"event": fields["event"], "data": json.loads(fields.get("data", "{}"))})
            fields = {}
        elif line and not line.startswith(":"):
            name, _, value = line.partition(":")
            fields[name] = value.lstrip(" ")
    return events


async def _drain(ws: Any) -> tuple[list[dict[str, Any]], int | None]:
    """Every frame until the server closes; the close code it sent."""
    frames: list[dict[str, Any]] = []
    try:
        async for raw in ws:
            frames.append(json.loads(raw))
    except ConnectionClosed as closed:
        return frames, closed.rcvd.code if closed.rcvd else None
    return frames, ws.close_code


async def _ws_until_closed(url: str) -> tuple[list[dict[str, Any]], int | None]:
    async with connect(url) as ws:
        return await _drain(ws)


async def test_streams_are_capped_per_organisation_and_idle_streams_end(
    healthy: DevStack, proxied_gateway: str, store: pymongo.MongoClient
) -> None:
    with httpx.Client(base_url=healthy.gateway_url, timeout=30) as api:
        account = register(api)
    store["rampart_auth"]["organizations"].update_one(
        {"_id": account["org_id"]}, {"$set": {"limits": {"concurrent_streams": 2}}}
    )
    for worker in WORKERS:  # the scan stays queued: its stream carries no event
        assert healthy.stop(worker) == 0
    key = account["api_key"]
    async with httpx.AsyncClient(base_url=proxied_gateway, timeout=60, headers=bearer(key)) as client:
        created = await client.post("/api/v1/scans", json={"target": "127.0.0.1", "ports": "1"})
        assert created.status_code == 201, created.text
        scan_id = created.json()["data"]["scan_id"]
        path = f"/api/v1/scans/{scan_id}/stream"
        ws_url = f"{proxied_gateway.replace('http', 'ws', 1)}/ws/scans/{scan_id}?api_key={key}"
        async with contextlib.AsyncExitStack() as streams:
            first = await streams.enter_async_context(client.stream("GET", path))
            assert first.status_code == 200
            websocket = await streams.enter_async_context(connect(ws_url))
            # past the cap: 429 in the envelope for SSE, close 4429 for the WebSocket
            refused = await client.get(path)
            body = assert_refused(refused, 429, "CONCURRENT_LIMIT_EXCEEDED")
            assert body["error"]["details"] == {"limit": 2, "resource": "streams"}
            _, code = await _ws_until_closed(ws_url)
            assert code == 4429
            # the client goes away: its slot is free again (long before the idle timeout)
            await first.aclose()
            deadline = time.monotonic() + IDLE_SECONDS / 2
            while True:
                second = await streams.enter_async_context(client.stream("GET", path))
                if second.status_code == 200:
                    break
                assert second.status_code == 429
                await second.aclose()
                assert time.monotonic() < deadline, "the slot of a disconnected client was not given back"
                await asyncio.sleep(0.1)
            # both streams of the queued scan carry no event: each ends with an idle error
            sse_events = await asyncio.wait_for(_events(second), IDLE_SECONDS * 3)
            assert sse_events[-1]["event"] == "error"
            assert sse_events[-1]["data"]["error"]["code"] == "STREAM_IDLE_TIMEOUT"
            frames, code = await asyncio.wait_for(_drain(websocket), IDLE_SECONDS * 3)
            assert code == 4408
            assert frames[-1]["data"]["error"]["code"] == "STREAM_IDLE_TIMEOUT"
        # every slot is back: two streams open again
        async with client.stream("GET", path) as again, client.stream("GET", path) as twice:
            assert (again.status_code, twice.status_code) == (200, 200)
        await client.delete(f"/api/v1/scans/{scan_id}")
