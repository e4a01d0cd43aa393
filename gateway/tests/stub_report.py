"""In-memory report-service compliance RPCs for the gateway's handler tests: canned replies per
organisation, every request recorded, failures as the real service reports them."""

from __future__ import annotations

from collections import defaultdict

import grpc
from google.protobuf.message import Message

from gateway.tests.stub_services import Call, StubService, rpc_error
from rampart.common.v1 import common_pb2
from rampart.report.v1 import report_pb2


def control(control_id: str, status: int, evidence: int = 0, gaps: int = 0) -> report_pb2.Control:
    framework, ref = control_id.split(":", 1)
    message = report_pb2.Control(
        control_id=control_id,
        framework=framework,
        ref=ref,
        name=f"name of {ref}",
        status=status,
        frameworks=["PCI DSS" if framework == "pci-dss" else "ISO/IEC 27001"],
        evidence_count=evidence,
        gaps_total=gaps,
        automated=True,
    )
    if gaps:
        message.gaps.append(
            report_pb2.ControlGap(
                check="rule RMP-TLS-006",
                host="10.0.0.5",
                port=443,
                vulnerability_id="vuln_1",
                severity=common_pb2.SEVERITY_HIGH,
                rule_id="RMP-TLS-006",
                remediation="disable weak suites",
            )
        )
    return message


class StubCompliance(StubService):
    """Per organisation: its controls. An unknown framework or control answers NOT_FOUND."""

    def __init__(self) -> None:
        super().__init__()
        self.controls: dict[str, list[report_pb2.Control]] = defaultdict(list)

    def _mine(self, owner: common_pb2.Owner) -> list[report_pb2.Control]:
        return self.controls[owner.org_id]

    def GetCompliance(self, request: report_pb2.GetComplianceRequest, timeout: float) -> Call:
        def answer() -> Message:
            known = {c.framework for c in self._mine(request.owner)} | {"pci-dss", "iso27001"}
            for key in request.frameworks:
                if key not in known:
                    raise rpc_error(grpc.StatusCode.NOT_FOUND, "no framework", "FRAMEWORK_NOT_FOUND")
            keys = list(request.frameworks) or sorted(known)
            frameworks = []
            for key in keys:
                controls = [c for c in self._mine(request.owner) if c.framework == key]
                failing = sum(1 for c in controls if c.status == report_pb2.CONTROL_STATUS_FAILING)
                frameworks.append(
                    report_pb2.FrameworkPosture(
                        framework=key,
                        name=key.upper(),
                        score=50.0,
                        controls_total=len(controls),
                        failing=failing,
                        controls=controls,
                    )
                )
            return report_pb2.CompliancePosture(frameworks=frameworks, assets=1)

        return self._call("GetCompliance", request, answer)

    def ListControls(self, request: report_pb2.ListControlsRequest, timeout: float) -> Call:
        def answer() -> Message:
            mine = self._mine(request.owner)
            chosen = [c for c in mine if not request.status or c.status == request.status]
            per = request.page.per_page
            page = chosen[(request.page.page - 1) * per : request.page.page * per]
            info = common_pb2.PageInfo(
                total=len(chosen), page=request.page.page, per_page=per, pages=-(-len(chosen) // per)
            )
            return report_pb2.ListControlsResponse(controls=page, page=info)

        return self._call("ListControls", request, answer)

    def _detail(self, owner: common_pb2.Owner, control_id: str) -> report_pb2.ControlDetail:
        for c in self._mine(owner):
            if c.control_id == control_id:
                return report_pb2.ControlDetail(control=c)
        raise rpc_error(grpc.StatusCode.NOT_FOUND, "no control", "CONTROL_NOT_FOUND", control_id=control_id)

    def GetControl(self, request: report_pb2.GetControlRequest, timeout: float) -> Call:
        return self._call("GetControl", request, lambda: self._detail(request.owner, request.control_id))

    def UpdateControl(self, request: report_pb2.UpdateControlRequest, timeout: float) -> Call:
        def answer() -> Message:
            detail = self._detail(request.owner, request.control_id)
            detail.control.status = request.status or detail.control.status
            detail.control.attestation.note = request.note
            detail.control.attestation.owner_user_id = request.owner_user_id
            return detail

        return self._call("UpdateControl", request, answer)

    def AddControlEvidence(self, request: report_pb2.AddControlEvidenceRequest, timeout: float) -> Call:
        def answer() -> Message:
            self._detail(request.owner, request.control_id)
            return report_pb2.ControlEvidence(
                evidence_id="evd_1",
                control_id=request.control_id,
                filename=request.filename,
                content_type="application/pdf",
                size=len(request.content),
                sha256="0" * 64,
                verdict="benign",
            )

        return self._call("AddControlEvidence", request, answer)

    def GetComplianceHistory(self, request: report_pb2.GetComplianceHistoryRequest, timeout: float) -> Call:
        def answer() -> Message:
            snapshot = report_pb2.PostureSnapshot(day="2026-03-01", scores={"pci-dss": 80.0})
            snapshot.statuses["pci-dss:4.2.1"] = report_pb2.CONTROL_STATUS_FAILING
            return report_pb2.ComplianceHistory(snapshots=[snapshot])

        return self._call("GetComplianceHistory", request, answer)
