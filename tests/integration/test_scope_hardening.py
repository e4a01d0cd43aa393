"""Scope hardening through the gateway: address forms, generic refusals, bounded port specs."""

from __future__ import annotations

import threading
import time

import httpx2 as httpx

from rampart_devtools.devstack import WORKERS, DevStack
from tests.integration.conftest import assert_refused, bearer, register, write_scope
from tests.integration.scanning import wait_for

# Each reaches a forbidden IPv4 host; all are refused before any packet is sent.
FORBIDDEN_FORMS = (
    "::ffff:169.254.169.254",  # IPv4-mapped metadata address
    "::ffff:10.20.5.7",  # IPv4-mapped, inside the denied /24
    "64:ff9b::a9fe:a9fe",  # NAT64 of the metadata address
    "2002:a9fe:a9fe::1",  # 6to4 of the metadata address
)


def test_ipv6_forms_of_forbidden_ipv4_addresses_are_refused(api: httpx.Client, healthy: DevStack) -> None:
    account = register(api)
    key = account["api_key"]
    # No worker runs while the scope is wide open: should a form ever be accepted (a regression),
    # its scan is cancelled below before any worker could send it a packet.
    for worker in WORKERS:
        assert healthy.stop(worker) == 0
    wide_open = {"allow": ["::/0", "0.0.0.0/0"], "deny": ["10.20.5.0/24"]}
    write_scope(healthy.data_dir / "scope.json", {account["org_id"]: wide_open})
    try:
        for target in FORBIDDEN_FORMS:
            body = assert_refused(
                api.post("/api/v1/scans", json={"target": target, "ports": "80"}, headers=bearer(key)),
                403,
                "TARGET_NOT_ALLOWED",
            )
            assert body["error"]["message"] == f"{target} is outside the authorised scope"
            assert body["error"]["details"] == {"field": "target", "value": target}
    finally:
        write_scope(healthy.data_dir / "scope.json", {})
        for scan in api.get("/api/v1/scans", headers=bearer(key)).json()["data"]["items"]:
            api.delete(f"/api/v1/scans/{scan['scan_id']}", headers=bearer(key))
    assert api.get("/api/v1/scans", headers=bearer(key)).json()["data"]["total"] == 0


def test_a_mapped_loopback_target_is_loopback_and_the_platform_is_left_out(
    api: httpx.Client, stack: DevStack
) -> None:
    """``::ffff:127.0.0.1`` is 127.0.0.1: in the loopback scope, and self-exclusion recognises it."""
    key = register(api)["api_key"]
    gateway = stack.ports["gateway"]
    reply = api.post(
        "/api/v1/scans", json={"target": "::ffff:127.0.0.1", "ports": str(gateway)}, headers=bearer(key)
    )
    assert reply.status_code == 201, reply.text
    created = reply.json()["data"]
    finished = wait_for(api, bearer(key), created["scan_id"])
    assert finished["status"] == "completed"
    assert finished["excluded_endpoints"] == [f"127.0.0.1:{gateway}"]
    results = api.get(f"/api/v1/scans/{created['scan_id']}/results", headers=bearer(key)).json()["data"]
    assert results["ports"] == []


def test_a_hostile_port_spec_is_refused_quickly_while_health_answers(api: httpx.Client) -> None:
    key = register(api)["api_key"]
    spec = ",".join(["-"] * 2048)  # held the scan service's event loop for seconds before
    answer: list[httpx.Response] = []
    elapsed: list[float] = []

    def post() -> None:
        with httpx.Client(base_url=str(api.base_url), timeout=30) as client:
            started = time.monotonic()
            body = {"target": "127.0.0.1", "ports": spec}
            answer.append(client.post("/api/v1/scans", json=body, headers=bearer(key)))
            elapsed.append(time.monotonic() - started)

    poster = threading.Thread(target=post)
    poster.start()
    health: list[int] = []
    while True:  # health keeps answering while the spec is being refused (at least once)
        finished = not poster.is_alive()
        health.append(api.get("/api/v1/health", timeout=5).status_code)
        if finished:
            break
    poster.join()
    body = assert_refused(answer[0], 400, "INVALID_PORT_SPEC")
    assert body["error"]["message"] == "port specification has more than 1024 parts"
    assert body["error"]["details"]["field"] == "ports"
    assert body["error"]["details"]["limit"] == 1024
    assert elapsed[0] < 3.0  # generous on a busy machine
    assert set(health) == {200}
