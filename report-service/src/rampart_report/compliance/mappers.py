"""Protobuf <-> compliance domain (with api.py and adapters.py, the only code here knowing the proto)."""

from __future__ import annotations

from rampart.common.v1 import common_pb2
from rampart.lib.ids import to_timestamp
from rampart.report.v1 import report_pb2
from rampart_report.compliance.catalogue import Catalogue
from rampart_report.compliance.domain import (
    ControlChange,
    ControlPosture,
    EvidenceFile,
    FrameworkPosture,
    Gap,
    Posture,
    Snapshot,
    Status,
    Tenant,
)
from rampart_report.compliance.service import ControlDetail

STATUS = {
    Status.PASSING: report_pb2.CONTROL_STATUS_PASSING,
    Status.FAILING: report_pb2.CONTROL_STATUS_FAILING,
    Status.NOT_ASSESSED: report_pb2.CONTROL_STATUS_NOT_ASSESSED,
    Status.MANUAL: report_pb2.CONTROL_STATUS_MANUAL,
}
STATUS_NAME = {status.value: value for status, value in STATUS.items()}
STATUS_FROM_PROTO = {value: status.value for status, value in STATUS.items()}
SEVERITY = {
    "info": common_pb2.SEVERITY_INFO,
    "low": common_pb2.SEVERITY_LOW,
    "medium": common_pb2.SEVERITY_MEDIUM,
    "high": common_pb2.SEVERITY_HIGH,
    "critical": common_pb2.SEVERITY_CRITICAL,
}
MODE = {common_pb2.KEY_MODE_TEST: "test"}


def tenant(owner: common_pb2.Owner) -> Tenant:
    return Tenant(
        owner.org_id, MODE.get(owner.mode, "live"), owner.user_id, owner.key_id, tuple(owner.scopes)
    )


def owner(who: Tenant) -> common_pb2.Owner:
    mode = common_pb2.KEY_MODE_TEST if who.mode == "test" else common_pb2.KEY_MODE_LIVE
    return common_pb2.Owner(
        user_id=who.user_id, org_id=who.org_id, mode=mode, key_id=who.key_id, scopes=who.scopes
    )


def _gap(gap: Gap) -> report_pb2.ControlGap:
    return report_pb2.ControlGap(
        check=gap.check,
        host=gap.host,
        port=gap.port,
        vulnerability_id=gap.finding_id,
        title=gap.title,
        severity=SEVERITY.get(gap.severity, common_pb2.SEVERITY_UNSPECIFIED),
        rule_id=gap.rule_id,
        cve=gap.cve,
        remediation=gap.remediation,
    )


def control_message(catalogue: Catalogue, posture: ControlPosture) -> report_pb2.Control:
    control = posture.control
    message = report_pb2.Control(
        control_id=control.control_id,
        framework=control.framework,
        ref=control.ref,
        name=control.name,
        description=control.description,
        status=STATUS[posture.status],
        frameworks=[catalogue.framework(control.framework).name],
        evidence_count=posture.evidence_count,
        checks=[
            report_pb2.ControlCheck(check=c.check, outcome=c.outcome, detail=c.detail, count=c.count)
            for c in posture.checks
        ],
        gaps=[_gap(gap) for gap in posture.gaps],
        gaps_total=posture.gaps_total,
        failing_hosts=posture.failing_hosts,
        excluded=[_gap(gap) for gap in posture.excluded],
        manual=control.manual,
        automated=control.automated,
    )
    if posture.attestation is not None:
        a = posture.attestation
        message.attestation.CopyFrom(
            report_pb2.ControlAttestation(
                status=STATUS[a.status] if a.status else report_pb2.CONTROL_STATUS_UNSPECIFIED,
                note=a.note,
                owner_user_id=a.owner,
                updated_by=a.updated_by,
                updated_at=to_timestamp(a.updated_at),
            )
        )
    return message


def framework_message(catalogue: Catalogue, framework: FrameworkPosture) -> report_pb2.FrameworkPosture:
    return report_pb2.FrameworkPosture(
        framework=framework.key,
        name=framework.name,
        version=framework.version,
        score=framework.score,
        controls_total=len(framework.controls),
        passing=framework.count(Status.PASSING),
        failing=framework.count(Status.FAILING),
        not_assessed=framework.count(Status.NOT_ASSESSED),
        manual=framework.count(Status.MANUAL),
        controls=[control_message(catalogue, c) for c in framework.controls],
    )


def posture_message(catalogue: Catalogue, posture: Posture) -> report_pb2.CompliancePosture:
    return report_pb2.CompliancePosture(
        frameworks=[framework_message(catalogue, f) for f in posture.frameworks],
        evaluated_at=to_timestamp(posture.evaluated_at),
        assets=posture.assets,
        findings_open=posture.findings_open,
        findings_excluded=posture.findings_excluded,
    )


def change_message(change: ControlChange) -> report_pb2.ControlChange:
    return report_pb2.ControlChange(
        at=to_timestamp(change.at),
        actor=change.actor,
        from_status=STATUS_NAME.get(change.from_status, report_pb2.CONTROL_STATUS_UNSPECIFIED),
        to_status=STATUS_NAME.get(change.to_status, report_pb2.CONTROL_STATUS_UNSPECIFIED),
        note=change.note,
        owner_user_id=change.owner,
    )


def evidence_message(evidence: EvidenceFile) -> report_pb2.ControlEvidence:
    return report_pb2.ControlEvidence(
        evidence_id=evidence.evidence_id,
        control_id=evidence.control_id,
        filename=evidence.filename,
        content_type=evidence.content_type,
        size=evidence.size,
        sha256=evidence.sha256,
        verdict=evidence.verdict,
        analysis_id=evidence.analysis_id,
        uploaded_by=evidence.uploaded_by,
        uploaded_at=to_timestamp(evidence.uploaded_at),
    )


def detail_message(catalogue: Catalogue, detail: ControlDetail) -> report_pb2.ControlDetail:
    return report_pb2.ControlDetail(
        control=control_message(catalogue, detail.posture),
        history=[change_message(change) for change in detail.history],
        evidence=[evidence_message(e) for e in detail.evidence],
    )


def history_message(snapshots: list[Snapshot]) -> report_pb2.ComplianceHistory:
    return report_pb2.ComplianceHistory(
        snapshots=[
            report_pb2.PostureSnapshot(
                day=s.day,
                at=to_timestamp(s.at),
                scores=s.scores,
                statuses={
                    k: STATUS_NAME.get(v, report_pb2.CONTROL_STATUS_UNSPECIFIED)
                    for k, v in s.statuses.items()
                },
            )
            for s in snapshots
        ]
    )
