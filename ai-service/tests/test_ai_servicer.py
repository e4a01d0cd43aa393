"""AiService over its servicer: the three RPCs are built and map citations to structured sources."""

from __future__ import annotations

from typing import Any, cast

import pytest
from assistant_fakes import MemoryAccounts, library, world

from rampart.ai.v1 import ai_pb2, ai_pb2_grpc
from rampart.common.v1 import common_pb2
from rampart_ai.bootstrap import assemble
from rampart_ai.domain import ScanNotFound
from tests.unbuilt import assert_only_built

ALICE = common_pb2.Owner(user_id="user_alice", org_id="org_alice")


def servicer() -> ai_pb2_grpc.AiServiceServicer:
    data = world()
    return assemble(MemoryAccounts(), data.scans, data.findings, data.threats, library())


def test_the_servicer_builds_every_rpc() -> None:
    service = ai_pb2.DESCRIPTOR.services_by_name["AiService"]
    assert_only_built(
        servicer(),
        ai_pb2_grpc.AiServiceServicer,
        service,
        {"Ask", "Explain", "GenerateReport", "GetUsage", "ListHistory", "GetHistoryEntry"},
    )


async def test_ask_returns_the_answer_with_labelled_structured_sources() -> None:
    reply = await servicer().Ask(
        ai_pb2.AskRequest(owner=ALICE, question="What is exposed?", scan_id="scan_alice_new"), cast(Any, None)
    )
    assert reply.provider == "offline"
    assert reply.intent == ai_pb2.INTENT_EXPOSURE
    redis = next(s for s in reply.sources if s.kind == "port" and s.port == 6379)
    assert (redis.host, redis.scan_id, redis.ref, redis.protocol) == (
        "10.0.0.7",
        "scan_alice_new",
        "10.0.0.7:6379",
        "tcp",
    )
    assert f"[{redis.label}]" in next(line for line in reply.answer.splitlines() if "10.0.0.7:6379" in line)
    assert [s.label for s in reply.sources] == [str(i) for i in range(1, len(reply.sources) + 1)]


async def test_ask_about_another_tenants_scan_raises_scan_not_found() -> None:
    with pytest.raises(ScanNotFound):
        await servicer().Ask(
            ai_pb2.AskRequest(owner=ALICE, question="What is exposed?", scan_id="scan_bob_1"), cast(Any, None)
        )


async def test_explain_maps_level_related_ids_and_the_callers_example() -> None:
    reply = await servicer().Explain(
        ai_pb2.ExplainRequest(owner=ALICE, concept="TLS", level=ai_pb2.EXPLAIN_LEVEL_EXPERT), cast(Any, None)
    )
    assert reply.found
    assert reply.level == ai_pb2.EXPLAIN_LEVEL_EXPERT
    assert reply.concept == "TLS (Transport Layer Security)"
    names = {r.id: r.name for r in reply.related_ids}
    assert names["CWE-319"] == "Cleartext Transmission of Sensitive Information"
    assert names["T1557"] == "Adversary-in-the-Middle"
    assert "10.0.0.5:443" in reply.example
    assert [s.kind for s in reply.sources] == ["knowledge", "vulnerability"]


async def test_generate_report_returns_the_sections_asked_in_order() -> None:
    reply = await servicer().GenerateReport(
        ai_pb2.GenerateReportRequest(
            owner=ALICE,
            scan_id="scan_alice_new",
            report_type=ai_pb2.REPORT_TYPE_REMEDIATION,
            include_sections=["recommendations", "summary"],
        ),
        cast(Any, None),
    )
    assert [s.name for s in reply.sections] == ["recommendations", "summary"]
    assert reply.report_type == ai_pb2.REPORT_TYPE_REMEDIATION
    assert "Require AUTH and bind to loopback." in reply.sections[0].body
    assert any(s.ref == "vuln_redis_open" for s in reply.sections[0].sources)
