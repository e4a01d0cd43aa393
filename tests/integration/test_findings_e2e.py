"""Issue 11 end to end: real local servers scanned through the platform, their findings live on the
scan's stream, listed with the right CVEs, triaged, kept across rescans, resolved when the server
goes away and reopened when it comes back (docs/findings-pipeline.md, docs/findings-lifecycle.md).

The servers are those the engine tests run (tests/servers.py): sshd (OpenSSH, CVEs from the knowledge
base), Redis without a password (RMP-AUTH-001) and nginx over HTTP and HTTPS (server version disclosure,
no HSTS). The CVEs expected on a service are those ``../shared/vulnfeeds/expected.json`` lists as
affecting the version the local package runs, among the CVEs the platform's knowledge base holds.
Every scan targets only 127.0.0.1 ports this test started.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pymongo
import pytest

from rampart_devtools.devstack import DevStack
from tests import servers
from tests.integration.conftest import bearer, register
from tests.integration.scanning import Sse, read_sse

EXPECTED = Path(__file__).resolve().parents[2].parent / "shared" / "vulnfeeds" / "expected.json"


@contextlib.contextmanager
def running(name: str) -> Iterator[servers.Running]:
    try:
        with servers.started(name) as server:
            yield server
    except servers.ServerMissing as missing:
        if os.environ.get("CI"):
            raise  # CI installs every test server (scripts/setup.sh --test)
        pytest.skip(str(missing))


def account_with_room(api: httpx.Client, store: pymongo.MongoClient) -> str:
    """A new account whose plan lets the test poll (the free plan allows 100 requests an hour)."""
    account = register(api)
    limits = {"concurrent_scans": 2, "scans_per_day": 0, "requests_per_hour": 100_000}
    store["rampart_auth"]["organizations"].update_one(
        {"_id": account["org_id"]}, {"$set": {"limits": limits}}
    )
    return account["api_key"]


def scan(api: httpx.Client, key: str, ports: list[int], profile: str = "standard") -> tuple[str, list[Sse]]:
    """A scan of the given loopback ports, its stream read to the end (findings_settled)."""
    body = {
        "target": "127.0.0.1",
        "ports": ",".join(str(p) for p in sorted(ports)),
        "profile": profile,
        "options": {"service_detection": True, "ssl_check": True},
    }
    reply = api.post("/api/v1/scans", json=body, headers=bearer(key))
    assert reply.status_code == 201, reply.text
    scan_id: str = reply.json()["data"]["scan_id"]
    events = read_sse(api, f"/api/v1/scans/{scan_id}/stream", bearer(key), deadline=120)
    assert events, "the stream sent nothing"
    assert events[-1].event == "findings_settled", [e.event for e in events]
    return scan_id, events


def findings_of(events: list[Sse]) -> dict[tuple[int, str], dict[str, Any]]:
    """The stream's findings by (port, CVE or rule id); a finding is announced once per scan."""
    found = [e.data["finding"] for e in events if e.event == "finding"]
    keyed = {(f["port"], f["cve"] or f["rule_id"]): f for f in found}
    assert len(keyed) == len(found), "a finding announced twice on one stream"
    return keyed


def listed(api: httpx.Client, key: str, **params: Any) -> list[dict[str, Any]]:
    reply = api.get("/api/v1/vulnerabilities", params={"per_page": 100, **params}, headers=bearer(key))
    assert reply.status_code == 200, reply.text
    data = reply.json()["data"]
    assert data["total"] == len(data["items"])
    items: list[dict[str, Any]] = data["items"]
    return items


def asset(api: httpx.Client, key: str, done: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """The loopback asset once ``done`` holds (the inventory's own consumer follows the scan events)."""
    give_up = time.monotonic() + 20
    while True:
        reply = api.get("/api/v1/assets", headers=bearer(key))
        assert reply.status_code == 200, reply.text
        [found] = reply.json()["data"]["items"]
        if done(found) or time.monotonic() > give_up:
            return dict(found)
        time.sleep(0.2)


def open_ports(found: dict[str, Any]) -> set[int]:
    return {p["port"] for p in found["open_ports"] if p["state"] == "open"}


def by_severity(findings: list[dict[str, Any]]) -> dict[str, int]:
    counted = Counter(f["severity"] for f in findings)
    return {s: counted[s] for s in ("info", "low", "medium", "high", "critical")}


def expected_cves(api: httpx.Client, key: str, product: str, version: str) -> tuple[set[str], set[str]]:
    """(affected CVEs the knowledge base holds, CVEs that must not be found) for a product version."""
    answers = json.loads(EXPECTED.read_text())["products"]
    entry = next((p for p in answers if p["product"] == product and p["version"] == version), None)
    if entry is None:
        return set(), set()
    known = {
        a["cve"]
        for a in entry["affected"]
        if api.get(f"/api/v1/vulnerabilities/catalog/{a['cve']}", headers=bearer(key)).status_code == 200
    }
    return known, {a["cve"] for a in entry["not_affected"]}


@pytest.mark.timeout(300)
def test_local_servers_findings_stream_list_triage_resolve_and_reopen(
    api: httpx.Client, store: pymongo.MongoClient
) -> None:
    key = account_with_room(api, store)
    with running("sshd") as sshd, running("redis") as redis, running("nginx") as nginx:
        tls_port = int(nginx.extra["tls_port"])
        ports = [sshd.port, redis.port, nginx.port, tls_port]

        # 1. A first scan: findings on the stream, the same in GET /vulnerabilities.
        first, events = scan(api, key, ports)
        found = findings_of(events)
        assert all(f["status"] == "open" and f["first_sighting"] for f in found.values())
        assert (redis.port, "RMP-AUTH-001") in found  # Redis answers without a password
        assert (nginx.port, "RMP-HTTP-004") in found  # nginx/1.22.1 in the Server header
        assert (tls_port, "RMP-HTTP-001") in found  # HTTPS without HSTS
        ssh_cves = {subject for port, subject in found if port == sshd.port and subject.startswith("CVE-")}
        affected, not_affected = expected_cves(api, key, "OpenSSH", sshd.expect.version)
        assert ssh_cves == affected, f"OpenSSH {sshd.expect.version}: {ssh_cves} != {affected}"
        assert not ssh_cves & not_affected
        if sshd.expect.version == "9.2p1":  # Debian 12: the answer key's version, both in the starter set
            assert affected == {"CVE-2024-6387", "CVE-2023-38408"}
        cve = found[(sshd.port, "CVE-2024-6387")] if "CVE-2024-6387" in ssh_cves else None
        if cve is not None:
            assert (cve["type"], cve["severity"]) == ("vulnerable_service", "high")
        settled = events[-1].data
        assert (settled["findings"], settled["resolved"]) == (len(found), 0)
        # Findings follow their port's event on the stream.
        order = [(e.event, e.data.get("port") or e.data.get("finding", {}).get("port")) for e in events]
        for port, _ in found:
            assert order.index(("service_detected", port)) < order.index(("finding", port))

        records = {(v["port"], v["cve"] or v["rule_id"]): v for v in listed(api, key, scan_id=first)}
        assert records.keys() == found.keys()
        assert {v["vulnerability_id"] for v in records.values()} == {
            f["vulnerability_id"] for f in found.values()
        }
        assert all(v["host"] == "127.0.0.1" and v["first_scan_id"] == first for v in records.values())
        scans = api.get("/api/v1/scans", headers=bearer(key)).json()["data"]["items"]
        assert [(s["scan_id"], s["vulnerabilities_found"]) for s in scans] == [(first, len(found))]
        # The host is an asset with its open ports and its open findings by severity.
        host = asset(api, key, lambda a: open_ports(a) == set(ports))
        assert open_ports(host) == set(ports)
        assert host["findings"] == {"total": len(found), **by_severity(list(found.values()))}

        # 2. A person marks the version disclosure a false positive; a rescan keeps it so.
        disclosure = records[(nginx.port, "RMP-HTTP-004")]["vulnerability_id"]
        patched = api.patch(
            f"/api/v1/vulnerabilities/{disclosure}",
            json={"status": "false_positive", "note": "banner is intended"},
            headers=bearer(key),
        )
        assert patched.status_code == 200, patched.text
        second, events = scan(api, key, ports)
        again = findings_of(events)
        assert again.keys() == found.keys()  # same findings, no duplicate records
        assert again[(nginx.port, "RMP-HTTP-004")]["status"] == "false_positive"
        assert not any(f["first_sighting"] for f in again.values())
        assert len(listed(api, key)) == len(found)
        record = api.get(f"/api/v1/vulnerabilities/{disclosure}", headers=bearer(key)).json()["data"]
        assert record["status"] == "false_positive"
        assert [s["scan_id"] for s in record["sightings"]] == [second, first]
        still_open = [f for k, f in found.items() if k != (nginx.port, "RMP-HTTP-004")]
        assert asset(api, key, lambda a: True)["findings"]["total"] == len(still_open)  # not the false one

        # 3. Redis goes away: the next scan covers its port and resolves its finding.
        exposure = records[(redis.port, "RMP-AUTH-001")]["vulnerability_id"]
        servers.stop(redis)
        third, events = scan(api, key, ports)
        assert (redis.port, "RMP-AUTH-001") not in findings_of(events)
        assert events[-1].data["resolved"] == 1
        gone = api.get(f"/api/v1/vulnerabilities/{exposure}", headers=bearer(key)).json()["data"]
        assert (gone["status"], gone["resolution"], gone["resolved_scan_id"]) == ("resolved", "fixed", third)
        statuses = {(v["port"], v["cve"] or v["rule_id"]): v["status"] for v in listed(api, key)}
        assert statuses[(nginx.port, "RMP-HTTP-004")] == "false_positive"  # not seen as fixed either
        assert {s for k, s in statuses.items() if k[0] != redis.port and k[1] != "RMP-HTTP-004"} == {"open"}
        host = asset(api, key, lambda a: redis.port not in open_ports(a))
        assert open_ports(host) == set(ports) - {redis.port}  # the inventory closed the port
        assert host["findings"]["total"] == len(still_open) - 1

        # 4. Redis comes back on the same port: the finding is reopened, with its history.
        back = servers.restart(redis)
        try:
            fourth, events = scan(api, key, ports)
        finally:
            servers.stop(back)
        reopened = findings_of(events)[(redis.port, "RMP-AUTH-001")]
        assert (reopened["vulnerability_id"], reopened["status"]) == (exposure, "reopened")
        record = api.get(f"/api/v1/vulnerabilities/{exposure}", headers=bearer(key)).json()["data"]
        assert record["status"] == "reopened"
        history = record["history"]
        moves = [(h["from_value"], h["to_value"], h["scan_id"]) for h in history if h["kind"] == "status"]
        assert moves == [("open", "resolved", third), ("resolved", "reopened", fourth)]
        assert len(listed(api, key)) == len(found)  # four scans, never a second record
        host = asset(api, key, lambda a: redis.port in open_ports(a))
        assert open_ports(host) == set(ports)
        assert host["findings"]["total"] == len(still_open)
        totals = {
            s["scan_id"]: s["vulnerabilities_found"]
            for s in api.get("/api/v1/scans", headers=bearer(key)).json()["data"]["items"]
        }
        assert totals == {first: len(found), second: len(found), third: len(found) - 1, fourth: len(found)}


def first_finding_then(api: httpx.Client, key: str, scan_id: str, during: Callable[[], None]) -> None:
    """Follow the scan's stream until its first ``finding`` event, then run ``during`` (a crash)."""
    with api.stream("GET", f"/api/v1/scans/{scan_id}/stream", headers=bearer(key), timeout=60) as reply:
        assert reply.status_code == 200, reply.read().decode()
        for line in reply.iter_lines():
            if line == "event: finding":
                break
        else:
            raise AssertionError("the stream ended before any finding")
    during()


def settled(api: httpx.Client, key: str, scan_id: str) -> dict[str, Any]:
    """The scan once threat-service has settled its findings (the scan list says so)."""
    give_up = time.monotonic() + 90
    while True:
        reply = api.get(f"/api/v1/scans/{scan_id}/results", headers=bearer(key))
        data: dict[str, Any] = reply.json()["data"] if reply.status_code == 200 else {"reply": reply.text}
        if data.get("findings_settled") or time.monotonic() > give_up:
            return data
        time.sleep(1)


@pytest.mark.timeout(300)
def test_kill_9_of_threat_service_mid_scan_loses_no_finding_and_duplicates_none(
    api: httpx.Client, healthy: DevStack, store: pymongo.MongoClient
) -> None:
    key = account_with_room(api, store)
    with running("sshd") as sshd, running("redis") as redis, running("nginx") as nginx:
        ports = [sshd.port, redis.port, nginx.port, int(nginx.extra["tls_port"])]
        body = {
            "target": "127.0.0.1",
            "ports": ",".join(str(p) for p in sorted(ports)),
            "options": {"service_detection": True, "ssl_check": True},
        }
        created = api.post("/api/v1/scans", json=body, headers=bearer(key))
        assert created.status_code == 201, created.text
        crashed = created.json()["data"]["scan_id"]

        def kill_and_restart() -> None:
            healthy.stop("threat", signal.SIGKILL)
            time.sleep(0.5)
            healthy.start("threat")

        first_finding_then(api, key, crashed, kill_and_restart)
        results = settled(api, key, crashed)
        assert results.get("findings_settled") is True, results
        events = read_sse(api, f"/api/v1/scans/{crashed}/stream", bearer(key), deadline=60)
        found = findings_of(events)  # each finding once on the stream
        assert [e.event for e in events].count("findings_settled") == 1
        assert events[-1].data["findings"] == len(found) == results["vulnerabilities_found"]
        assert sorted(v["vulnerability_id"] for v in results["vulnerabilities"]) == sorted(
            f["vulnerability_id"] for f in found.values()
        )
        records = listed(api, key)
        assert len(records) == len(found)  # one record per finding, none twice
        for record in records:
            full = api.get(f"/api/v1/vulnerabilities/{record['vulnerability_id']}", headers=bearer(key))
            detail = full.json()["data"]
            assert [s["scan_id"] for s in detail["sightings"]] == [crashed]
            assert [h["kind"] for h in detail["history"]] == ["created"]  # no second history entry

        # Nothing lost: the same servers scanned again, undisturbed, find exactly the same records.
        _, again = scan(api, key, ports)
        reference = findings_of(again)
        assert reference.keys() == found.keys()
        assert {f["vulnerability_id"] for f in reference.values()} == {r["vulnerability_id"] for r in records}
        assert not any(f["first_sighting"] for f in reference.values())


def test_the_scan_profile_reaches_the_rules_the_anonymous_ftp_login_only_under_pentest(
    api: httpx.Client, store: pymongo.MongoClient
) -> None:
    key = account_with_room(api, store)
    with running("pyftpdlib") as ftp:
        _, standard = scan(api, key, [ftp.port])
        _, pentest = scan(api, key, [ftp.port], profile="pentest")
    assert {rule for _, rule in findings_of(standard)} == {"RMP-CLEAR-002"}  # no AUTH TLS
    assert {rule for _, rule in findings_of(pentest)} == {"RMP-CLEAR-002", "RMP-AUTH-009"}
