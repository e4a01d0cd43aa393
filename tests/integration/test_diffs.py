"""Diffs between two real scans of local servers, through the gateway."""

from __future__ import annotations

import httpx2 as httpx

from tests.integration.conftest import assert_refused, bearer, register
from tests.integration.scanning import BannerServer, banner_servers, wait_for


def scan(api: httpx.Client, key: str, ports: str) -> str:
    body = {"target": "127.0.0.1", "ports": ports, "options": {"service_detection": True}}
    reply = api.post("/api/v1/scans", json=body, headers=bearer(key))
    assert reply.status_code == 201, reply.text
    scan_id: str = reply.json()["data"]["scan_id"]
    assert wait_for(api, bearer(key), scan_id)["status"] == "completed"
    return scan_id


def test_a_port_opened_and_a_service_upgraded_between_two_scans_show_in_the_diff(api: httpx.Client) -> None:
    account, stranger = register(api), register(api)
    key = account["api_key"]
    ssh = BannerServer(b"SSH-2.0-OpenSSH_8.9\r\n")
    later = BannerServer(b"SSH-2.0-OpenSSH_9.6\r\n", listening=False)  # bound, refusing: closed
    with banner_servers(ssh, later):
        ports = f"{ssh.port},{later.port}"
        first = scan(api, key, ports)
        ssh.banner = b"SSH-2.0-OpenSSH_9.6\r\n"  # the "upgrade"
        later.listen()
        second = scan(api, key, ports)

    reply = api.get(f"/api/v1/scans/{second}/diff", headers=bearer(key))
    assert reply.status_code == 200, reply.text
    diff = reply.json()["data"]
    assert (diff["scan"]["scan_id"], diff["against"]["scan_id"]) == (second, first)  # the default baseline
    assert [(p["host"], p["port"]) for p in diff["ports_opened"]] == [("127.0.0.1", later.port)]
    assert diff["ports_closed"] == []
    [changed] = diff["services_changed"]
    assert changed["port"] == ssh.port
    assert (changed["before"]["product"], changed["before"]["version"]) == ("OpenSSH", "8.9")
    assert (changed["after"]["product"], changed["after"]["version"]) == ("OpenSSH", "9.6")
    assert diff["hosts_up"] == diff["hosts_down"] == []
    assert diff["changed"] is True

    backwards = api.get(f"/api/v1/scans/{first}/diff?against={second}", headers=bearer(key)).json()["data"]
    assert [p["port"] for p in backwards["ports_closed"]] == [later.port]
    assert_refused(api.get(f"/api/v1/scans/{first}/diff", headers=bearer(key)), 409, "NO_SCAN_TO_COMPARE")
    assert_refused(
        api.get(f"/api/v1/scans/{second}/diff", headers=bearer(stranger["api_key"])), 404, "SCAN_NOT_FOUND"
    )
