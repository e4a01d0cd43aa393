"""The compliance RPCs through ``assemble`` with fakes, and the gRPC adapters' paging and owner passing."""

from __future__ import annotations

from typing import Any, cast

import pytest
from compliance_fakes import ACME, completed_scan, finding, world
from timeline_fakes import FakeTimelineRepository
from webhook_fakes import FakeWebhookRepository, settings

from rampart.common.v1 import common_pb2
from rampart.report.v1 import report_pb2
from rampart.threat.v1 import threat_pb2
from rampart_report.bootstrap import assemble
from rampart_report.compliance.adapters import GrpcPayloadScanner, GrpcPostureSources, finding_record
from rampart_report.compliance.domain import EvidenceMalicious, FindingStatus, Tenant

OWNER = common_pb2.Owner(org_id=ACME.org_id, user_id=ACME.user_id, mode=common_pb2.KEY_MODE_LIVE)
CONTEXT = cast(Any, None)


def servicer_of(compliance: Any) -> Any:
    parts = assemble(FakeTimelineRepository(), FakeWebhookRepository(), settings(), compliance=compliance)
    return parts.servicer


async def test_get_compliance_answers_each_framework_with_its_failing_control_and_gap() -> None:
    w = world()
    w.sources.scans_by_org[ACME.org_id].append(completed_scan("scan_1", "10.0.0.5"))
    w.sources.findings_by_org[ACME.org_id].append(
        finding(
            "vuln_telnet",
            rule_id="RMP-CLEAR-001",
            cwes=("CWE-319",),
            type="exposure",
            severity="high",
            port=23,
        )
    )
    servicer = assemble(
        FakeTimelineRepository(), FakeWebhookRepository(), settings(), compliance=w.service
    ).servicer
    reply = await servicer.GetCompliance(
        report_pb2.GetComplianceRequest(owner=OWNER, frameworks=["pci-dss"]), CONTEXT
    )
    assert [f.framework for f in reply.frameworks] == ["pci-dss"]
    pci = reply.frameworks[0]
    failing = {c.control_id: c for c in pci.controls if c.status == report_pb2.CONTROL_STATUS_FAILING}
    assert set(failing) == {
        "pci-dss:1.3.1",
        "pci-dss:2.2.4",
        "pci-dss:2.2.5",
        "pci-dss:2.2.7",
        "pci-dss:4.2.1",
    }
    gap = failing["pci-dss:2.2.4"].gaps[0]
    assert (gap.vulnerability_id, gap.port, gap.severity, gap.rule_id) == (
        "vuln_telnet",
        23,
        common_pb2.SEVERITY_HIGH,
        "RMP-CLEAR-001",
    )
    assert pci.failing == 5
    assert pci.manual == 2
    assert pci.controls_total == 11
    assert pci.score == pytest.approx(100 * 4 / 9, abs=0.1)


async def test_list_controls_has_the_seed_shape_and_pages() -> None:
    servicer = assemble(
        FakeTimelineRepository(), FakeWebhookRepository(), settings(), compliance=world().service
    ).servicer
    reply = await servicer.ListControls(
        report_pb2.ListControlsRequest(
            owner=OWNER, framework="soc2", page=common_pb2.PageRequest(page=2, per_page=4)
        ),
        CONTEXT,
    )
    assert reply.page.total == 9
    assert reply.page.pages == 3
    assert reply.page.page == 2
    assert [c.control_id for c in reply.controls] == ["soc2:CC6.8", "soc2:CC7.1", "soc2:CC7.2", "soc2:CC7.4"]
    assert list(reply.controls[0].frameworks) == ["SOC 2"]


async def test_update_control_and_malicious_evidence_through_the_servicer() -> None:
    w = world()
    servicer = assemble(
        FakeTimelineRepository(), FakeWebhookRepository(), settings(), compliance=w.service
    ).servicer
    detail = await servicer.UpdateControl(
        report_pb2.UpdateControlRequest(
            owner=OWNER,
            control_id="hipaa:164.312(b)",
            status=report_pb2.CONTROL_STATUS_PASSING,
            note="audit logging enabled",
            owner_user_id="usr_dana",
        ),
        CONTEXT,
    )
    assert detail.control.status == report_pb2.CONTROL_STATUS_PASSING
    assert detail.control.attestation.owner_user_id == "usr_dana"
    assert [(h.from_status, h.to_status) for h in detail.history] == [
        (report_pb2.CONTROL_STATUS_MANUAL, report_pb2.CONTROL_STATUS_PASSING)
    ]
    with pytest.raises(EvidenceMalicious):
        await servicer.AddControlEvidence(
            report_pb2.AddControlEvidenceRequest(
                owner=OWNER, control_id="hipaa:164.312(b)", filename="a.txt", content=w.scanner.marker
            ),
            CONTEXT,
        )


class FakeThreatStub:
    """Serves ListVulnerabilities in pages of two with a cursor; records each request's owner."""

    def __init__(self, records: list[threat_pb2.Vulnerability]) -> None:
        self.records = records
        self.owners: list[common_pb2.Owner] = []

    async def ListVulnerabilities(
        self, request: threat_pb2.ListVulnerabilitiesRequest, **_: float
    ) -> threat_pb2.ListVulnerabilitiesResponse:
        self.owners.append(request.owner)
        start = int(request.page.cursor or 0)
        end = start + 2
        return threat_pb2.ListVulnerabilitiesResponse(
            vulnerabilities=self.records[start:end],
            page=common_pb2.PageInfo(next_cursor=str(end) if end < len(self.records) else ""),
        )

    async def AnalyzeThreat(
        self, request: threat_pb2.AnalyzeThreatRequest, **_: float
    ) -> threat_pb2.ThreatAnalysis:
        self.owners.append(request.owner)
        self.analysed = request
        return threat_pb2.ThreatAnalysis(
            analysis_id="ana_1", verdict=threat_pb2.VERDICT_MALICIOUS, risk_score=90
        )


async def test_findings_are_read_page_by_page_with_the_callers_own_owner() -> None:
    records = [
        threat_pb2.Vulnerability(
            vulnerability_id=f"vuln_{i}",
            host="10.0.0.1",
            type=threat_pb2.VULNERABILITY_TYPE_MISCONFIGURATION,
            severity=common_pb2.SEVERITY_HIGH,
            status=threat_pb2.VULNERABILITY_STATUS_FALSE_POSITIVE
            if i == 4
            else threat_pb2.VULNERABILITY_STATUS_OPEN,
            rule_id="RMP-TLS-006",
            cwe=["CWE-327"],
        )
        for i in range(5)
    ]
    stub = FakeThreatStub(records)
    tenant = Tenant("org_acme", "test", "usr_alice")
    found = await GrpcPostureSources(cast(Any, stub), cast(Any, None)).findings(tenant)
    assert [f.finding_id for f in found] == [f"vuln_{i}" for i in range(5)]
    assert found[4].status is FindingStatus.FALSE_POSITIVE
    assert found[0].cwes == ("CWE-327",)
    assert len(stub.owners) == 3
    assert {(o.org_id, o.mode) for o in stub.owners} == {("org_acme", common_pb2.KEY_MODE_TEST)}


async def test_a_binary_evidence_file_is_analysed_base64_encoded_in_payload_mode() -> None:
    stub = FakeThreatStub([])
    verdict = await GrpcPayloadScanner(cast(Any, stub)).scan(ACME, b"\x89PNG\r\n\x1a\n", False, "x.png")
    assert verdict.verdict == "malicious"
    assert stub.analysed.kind == threat_pb2.INDICATOR_KIND_PAYLOAD
    assert stub.analysed.target == "iVBORw0KGgo="


def test_an_accepted_risk_record_keeps_its_expiry() -> None:
    message = threat_pb2.Vulnerability(
        vulnerability_id="v", status=threat_pb2.VULNERABILITY_STATUS_ACCEPTED_RISK
    )
    message.accepted_until.seconds = 1_800_000_000
    record = finding_record(message)
    assert record.status is FindingStatus.ACCEPTED_RISK
    assert record.accepted_until is not None
