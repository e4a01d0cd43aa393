"""Vulnerability records through the gateway and threat-service, on the platform's store.

The records are written as the finding pipeline writes them (``MongoFindingLedger.record`` on
threat-service's database); everything after that is the public API: list, read, triage, tenancy.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx2 as httpx
import pytest
from pymongo import AsyncMongoClient

from rampart.lib.store import Document
from rampart_devtools.devstack import DevStack
from rampart_threat.findings.ledger import MongoFindingLedger
from rampart_threat.findings.model import Finding, FindingType, Severity
from rampart_threat.findings.ports import Sighting
from tests.integration.conftest import assert_refused, bearer, register


@pytest.fixture(scope="module")
def api_module(stack: DevStack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.gateway_url, timeout=60) as client:
        yield client


def record(stack: DevStack, finding: Finding) -> Sighting:
    async def write() -> Sighting:
        client: AsyncMongoClient[Document] = AsyncMongoClient(stack.mongodb_url, tz_aware=True)
        try:
            return await MongoFindingLedger(client["rampart_threat"]).record(finding)
        finally:
            await client.close()

    return asyncio.run(write())


def finding(org_id: str, scan_id: str, live: bool = True) -> Finding:
    return Finding(
        org_id=org_id,
        scan_id=scan_id,
        live=live,
        host="127.0.0.1",
        port=6379,
        protocol="tcp",
        type=FindingType.EXPOSURE,
        subject="RMP-REDIS-001",
        title="Redis answers without authentication",
        severity=Severity.HIGH,
        detected_at=datetime.now(UTC),
        remediation="set requirepass or bind to localhost",
        cwe=("CWE-306",),
        evidence={"redis.auth": "none"},
    )


def test_a_recorded_finding_is_listed_read_and_triaged_by_its_owner_only(
    stack: DevStack, api_module: httpx.Client
) -> None:
    owner, stranger = register(api_module), register(api_module)
    sighting = record(stack, finding(owner["org_id"], "scan_it_1"))
    assert record(stack, finding(owner["org_id"], "scan_it_1")).changed is False  # a redelivery
    key = bearer(owner["api_key"])

    listed = api_module.get(
        "/api/v1/vulnerabilities", params={"severity": "high", "scan_id": "scan_it_1"}, headers=key
    )
    assert listed.status_code == 200, listed.text
    page = listed.json()["data"]
    assert page["total"] == 1
    assert page["items"][0]["vulnerability_id"] == sighting.vulnerability_id
    assert page["items"][0]["rule_id"] == "RMP-REDIS-001"

    path = f"/api/v1/vulnerabilities/{sighting.vulnerability_id}"
    full = api_module.get(path, headers=key).json()["data"]
    assert full["evidence"] == {"redis.auth": "none"}
    assert [s["scan_id"] for s in full["sightings"]] == ["scan_it_1"]
    assert full["cve_details"] is None

    refused = api_module.patch(path, json={"status": "accepted_risk"}, headers=key)
    assert_refused(refused, 422, "VALIDATION_ERROR")
    changed = api_module.patch(path, json={"status": "false_positive", "note": "lab box"}, headers=key)
    assert changed.status_code == 200, changed.text
    assert [(h["from_value"], h["to_value"], h["note"]) for h in changed.json()["data"]["history"][1:]] == [
        ("open", "false_positive", "lab box")
    ]
    bad_move = api_module.patch(path, json={"status": "confirmed"}, headers=key)
    body = assert_refused(bad_move, 422, "VULNERABILITY_TRANSITION_NOT_ALLOWED")
    assert body["error"]["details"]["allowed"] == ["open"]

    sandbox = api_module.post("/api/v1/api-keys", json={"name": "sandbox", "mode": "test"}, headers=key)
    assert sandbox.status_code == 201, sandbox.text
    for other in (bearer(stranger["api_key"]), bearer(sandbox.json()["data"]["api_key"])):
        assert_refused(api_module.get(path, headers=other), 404, "VULNERABILITY_NOT_FOUND")
        assert_refused(
            api_module.patch(path, json={"note": "x"}, headers=other), 404, "VULNERABILITY_NOT_FOUND"
        )
        assert api_module.get("/api/v1/vulnerabilities", headers=other).json()["data"]["total"] == 0
