"""Diffs between two real scans of local servers, through the gateway."""

from __future__ import annotations

import csv
import io

import httpx2 as httpx
from pypdf import PdfReader

from tests.integration.conftest import assert_refused, bearer, register
from tests.integration.scanning import BannerServer, banner_servers, read_sse, wait_for


def scan(api: httpx.Client, key: str, ports: str) -> str:
    body = {"target": "127.0.0.1", "ports": ports, "options": {"service_detection": True}}
    reply = api.post("/api/v1/scans", json=body, headers=bearer(key))
    assert reply.status_code == 201, reply.text
    scan_id: str = reply.json()["data"]["scan_id"]
    assert wait_for(api, bearer(key), scan_id)["status"] == "completed"
    return scan_id


def scanned_twice(api: httpx.Client, key: str) -> tuple[str, str, int, int]:
    """Two scans of the same two local ports: between them one port opens and the other's SSH is
    upgraded. Returns (first, second, ssh port, opened port)."""
    ssh = BannerServer(b"SSH-2.0-OpenSSH_8.9\r\n")
    later = BannerServer(b"SSH-2.0-OpenSSH_9.6\r\n", listening=False)  # bound, refusing: closed
    with banner_servers(ssh, later):
        ports = f"{ssh.port},{later.port}"
        first = scan(api, key, ports)
        ssh.banner = b"SSH-2.0-OpenSSH_9.6\r\n"  # the "upgrade"
        later.listen()
        second = scan(api, key, ports)
    return first, second, ssh.port, later.port


def test_a_port_opened_and_a_service_upgraded_between_two_scans_show_in_the_diff(api: httpx.Client) -> None:
    account, stranger = register(api), register(api)
    key = account["api_key"]
    first, second, ssh_port, later_port = scanned_twice(api, key)

    reply = api.get(f"/api/v1/scans/{second}/diff", headers=bearer(key))
    assert reply.status_code == 200, reply.text
    diff = reply.json()["data"]
    assert (diff["scan"]["scan_id"], diff["against"]["scan_id"]) == (second, first)  # the default baseline
    assert [(p["host"], p["port"]) for p in diff["ports_opened"]] == [("127.0.0.1", later_port)]
    assert diff["ports_closed"] == []
    [changed] = diff["services_changed"]
    assert changed["port"] == ssh_port
    assert (changed["before"]["product"], changed["before"]["version"]) == ("OpenSSH", "8.9")
    assert (changed["after"]["product"], changed["after"]["version"]) == ("OpenSSH", "9.6")
    assert diff["hosts_up"] == diff["hosts_down"] == []
    assert diff["changed"] is True

    backwards = api.get(f"/api/v1/scans/{first}/diff?against={second}", headers=bearer(key)).json()["data"]
    assert [p["port"] for p in backwards["ports_closed"]] == [later_port]
    assert_refused(api.get(f"/api/v1/scans/{first}/diff", headers=bearer(key)), 409, "NO_SCAN_TO_COMPARE")
    assert_refused(
        api.get(f"/api/v1/scans/{second}/diff", headers=bearer(stranger["api_key"])), 404, "SCAN_NOT_FOUND"
    )


def finished_report(api: httpx.Client, key: str, body: dict[str, object]) -> tuple[dict[str, object], bytes]:
    """POST the report, follow its stream to the end, and download it."""
    reply = api.post("/api/v1/reports", json=body, headers=bearer(key))
    assert reply.status_code == 202, reply.text
    report_id = reply.json()["data"]["report_id"]
    events = read_sse(api, f"/api/v1/reports/{report_id}/stream", bearer(key))
    assert events[-1].event == "complete", events
    report = api.get(f"/api/v1/reports/{report_id}", headers=bearer(key)).json()["data"]
    download = api.get(f"/api/v1/reports/{report_id}/download", headers=bearer(key))
    assert download.status_code == 200
    return report, download.content


def test_a_diff_report_between_two_real_scans_names_the_opened_port_and_the_upgrade(
    api: httpx.Client,
) -> None:
    account, stranger = register(api), register(api)
    key = account["api_key"]
    first, second, ssh_port, later_port = scanned_twice(api, key)

    report, pdf = finished_report(api, key, {"type": "diff", "scan_ids": [second], "format": "pdf"})
    assert report["scan_ids"] == [second, first]  # the default baseline, recorded when asked for
    assert pdf.startswith(b"%PDF")
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert f"{later_port}/tcp" in text
    assert f"{ssh_port}/tcp" in text
    assert "OpenSSH 9.6" in text
    assert "OpenSSH 8.9" in text

    # The same diff asked for by asset and period: the newest scan of 127.0.0.1 against the oldest.
    by_asset = {"type": "diff", "assets": ["127.0.0.1"], "period": {"last_days": 1}, "format": "csv"}
    report, content = finished_report(api, key, by_asset)
    assert report["scan_ids"] == [second, first]
    assert report["assets"] == ["127.0.0.1"]
    rows = list(csv.DictReader(io.StringIO(content.decode())))
    assert [(r["change"], r["port"]) for r in rows if r["section"] == "ports"] == [
        ("port_opened", str(later_port))
    ]

    assert_refused(
        api.post(
            "/api/v1/reports",
            json={"type": "diff", "scan_ids": [first], "format": "pdf"},
            headers=bearer(key),
        ),
        409,
        "NO_SCAN_TO_COMPARE",
    )
    assert_refused(
        api.post(
            "/api/v1/reports",
            json={"type": "diff", "scan_ids": [second], "format": "pdf"},
            headers=bearer(stranger["api_key"]),
        ),
        404,
        "SCAN_NOT_FOUND",
    )
    assert_refused(
        api.post(
            "/api/v1/reports",
            json={"type": "diff", "scan_ids": [second, first, first + "x"]},
            headers=bearer(key),
        ),
        422,
        "VALIDATION_ERROR",
    )
    assert_refused(
        api.post(
            "/api/v1/reports",
            json={"type": "technical", "assets": ["127.0.0.1"], "period": {"last_days": 1}},
            headers=bearer(stranger["api_key"]),
        ),
        422,
        "VALIDATION_ERROR",
    )
