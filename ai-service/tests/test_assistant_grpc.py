"""ai-service over real gRPC with mutual TLS: it reads scan- and threat-shaped servers as ``ai``.

The two owners are gRPC servers on 127.0.0.1 holding the scan and threat certificates and
checking callers (rampart.lib.callers); the assistant passes on the caller's owner, so another
organisation's scan is NOT_FOUND all the way back to the client.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import pytest
from assistant_fakes import MemoryAccounts

from rampart.ai.v1 import ai_pb2, ai_pb2_grpc
from rampart.common.v1 import common_pb2
from rampart.lib.errors import error_from_metadata
from rampart.lib.grpcclient import open_channel
from rampart.lib.grpcserver import Context, ServiceBinding, create_server
from rampart.scan.v1 import scan_pb2, scan_pb2_grpc
from rampart.threat.v1 import threat_pb2, threat_pb2_grpc
from rampart_ai.bootstrap import SERVICE_NAME, assemble
from rampart_ai.clients import GrpcFindings, GrpcScans, GrpcThreats
from rampart_ai.domain import ScanNotFound
from rampart_devtools.pki import DevCA

pytestmark = pytest.mark.service

ALICE = common_pb2.Owner(user_id="user_alice", org_id="org_alice")
BOB_SCAN = "scan_bob_1"


def scan_message(scan_id: str, org: str) -> scan_pb2.Scan:
    return scan_pb2.Scan(
        scan_id=scan_id,
        owner=common_pb2.Owner(org_id=org),
        targets=["127.0.0.1"],
        status=scan_pb2.SCAN_STATUS_COMPLETED,
        counts=scan_pb2.PortCounts(open=1),
    )


@dataclass
class ScanServer(scan_pb2_grpc.ScanServiceServicer):
    """Alice's scan of 127.0.0.1 (Redis open without auth) and Bob's scan; owners recorded."""

    owners: list[str] = field(default_factory=list)
    scans: dict[str, scan_pb2.Scan] = field(
        default_factory=lambda: {
            "scan_alice_1": scan_message("scan_alice_1", "org_alice"),
            BOB_SCAN: scan_message(BOB_SCAN, "org_bob"),
        }
    )

    def _own(self, owner: common_pb2.Owner, scan_id: str) -> scan_pb2.Scan:
        self.owners.append(owner.org_id)
        scan = self.scans.get(scan_id)
        if scan is None or scan.owner.org_id != owner.org_id:
            raise ScanNotFound("scan not found", scan_id=scan_id)
        return scan

    async def GetScan(self, request: Any, context: Context) -> scan_pb2.Scan:
        return self._own(request.owner, request.scan_id)

    async def GetScanResults(self, request: Any, context: Context) -> scan_pb2.ScanResults:
        scan = self._own(request.owner, request.scan_id)
        host = "10.9.9.9" if scan.owner.org_id == "org_bob" else "127.0.0.1"
        service = scan_pb2.ServiceInfo(
            name="redis", product="Redis", version="7.0.11", facts={"redis.auth": "none"}
        )
        port = scan_pb2.PortResult(
            host=host, port=6379, protocol="tcp", state=scan_pb2.PORT_STATE_OPEN, service=service
        )
        return scan_pb2.ScanResults(scan=scan, summary=scan.counts, ports=[port])


class ThreatServer(threat_pb2_grpc.ThreatServiceServicer):
    """Only the catalogue: ListVulnerabilities is not built here (it answers UNIMPLEMENTED)."""

    async def GetCatalogEntry(self, request: Any, context: Context) -> threat_pb2.CatalogEntry:
        await context.abort(grpc.StatusCode.NOT_FOUND, "no such CVE")
        raise AssertionError("unreachable")


@dataclass
class Stack:
    ai: ai_pb2_grpc.AiServiceStub
    scans: ScanServer


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    ca = DevCA(tmp_path / "pki")
    scans = ScanServer()
    scan_server, scan_port, _ = await create_server(
        "scan",
        [
            ServiceBinding(
                "rampart.scan.v1.ScanService", scans, scan_pb2_grpc.add_ScanServiceServicer_to_server
            )
        ],
        "127.0.0.1",
        0,
        ca.issue("scan"),
    )
    threat_server, threat_port, _ = await create_server(
        "threat",
        [
            ServiceBinding(
                "rampart.threat.v1.ThreatService",
                ThreatServer(),
                threat_pb2_grpc.add_ThreatServiceServicer_to_server,
            )
        ],
        "127.0.0.1",
        0,
        ca.issue("threat"),
    )
    as_ai = ca.issue("ai")
    scan_channel = open_channel(f"127.0.0.1:{scan_port}", as_ai)
    threat_channel = open_channel(f"127.0.0.1:{threat_port}", as_ai)
    servicer = assemble(
        MemoryAccounts(), GrpcScans(scan_channel), GrpcFindings(threat_channel), GrpcThreats(threat_channel)
    )
    ai_server, ai_port, _ = await create_server(
        "ai",
        [ServiceBinding(SERVICE_NAME, servicer, ai_pb2_grpc.add_AiServiceServicer_to_server)],
        "127.0.0.1",
        0,
        as_ai,
    )
    for server in (scan_server, threat_server, ai_server):
        await server.start()
    gateway = open_channel(f"127.0.0.1:{ai_port}", ca.issue("gateway"))
    try:
        yield Stack(ai_pb2_grpc.AiServiceStub(gateway), scans)
    finally:
        for channel in (gateway, scan_channel, threat_channel):
            await channel.close()
        for server in (ai_server, threat_server, scan_server):
            await server.stop(None)


async def test_an_answer_about_the_callers_scan_crosses_three_services_and_cites_its_port(
    stack: Stack,
) -> None:
    reply = await stack.ai.Ask(
        ai_pb2.AskRequest(owner=ALICE, question="What is exposed?", scan_id="scan_alice_1"), timeout=30
    )
    port = next(s for s in reply.sources if s.kind == "port")
    assert (port.ref, port.scan_id) == ("127.0.0.1:6379", "scan_alice_1")
    assert "Redis answered without authentication (redis.auth = none)" in reply.answer
    assert any("ListVulnerabilities (unimplemented)" in gap for gap in reply.gaps)
    assert set(stack.scans.owners) == {"org_alice"}


async def test_another_organisations_scan_is_not_found_through_the_assistant(stack: Stack) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stack.ai.Ask(
            ai_pb2.AskRequest(owner=ALICE, question="What is exposed?", scan_id=BOB_SCAN), timeout=30
        )
    assert refused.value.code() == grpc.StatusCode.NOT_FOUND
    code, _ = error_from_metadata(refused.value.trailing_metadata())  # type: ignore[arg-type]
    assert code == "SCAN_NOT_FOUND"
    assert "10.9.9.9" not in (refused.value.details() or "")
    assert stack.scans.owners == ["org_alice"]  # asked as Alice, never as Bob


async def test_an_unknown_cve_is_reported_as_unknown_by_the_catalogue(stack: Stack) -> None:
    reply = await stack.ai.Ask(
        ai_pb2.AskRequest(
            owner=ALICE, question="Is 127.0.0.1 vulnerable to CVE-2099-0001?", scan_id="scan_alice_1"
        ),
        timeout=30,
    )
    assert reply.intent == ai_pb2.INTENT_CVE_CHECK
    assert "no record of CVE-2099-0001" in reply.answer
