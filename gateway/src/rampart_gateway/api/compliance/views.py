"""ReportService compliance replies -> public JSON."""

from __future__ import annotations

from typing import Any

from rampart.common.v1 import common_pb2
from rampart.report.v1 import report_pb2
from rampart_gateway.envelope import when

STATUS = {
    report_pb2.CONTROL_STATUS_PASSING: "passing",
    report_pb2.CONTROL_STATUS_FAILING: "failing",
    report_pb2.CONTROL_STATUS_NOT_ASSESSED: "not_assessed",
    report_pb2.CONTROL_STATUS_MANUAL: "manual",
}
STATUS_VALUE = {word: value for value, word in STATUS.items()}
SEVERITY = {
    common_pb2.SEVERITY_INFO: "info",
    common_pb2.SEVERITY_LOW: "low",
    common_pb2.SEVERITY_MEDIUM: "medium",
    common_pb2.SEVERITY_HIGH: "high",
    common_pb2.SEVERITY_CRITICAL: "critical",
}


def _gap(gap: report_pb2.ControlGap) -> dict[str, Any]:
    return {
        "check": gap.check,
        "host": gap.host,
        "port": gap.port,
        "vulnerability_id": gap.vulnerability_id or None,
        "title": gap.title,
        "severity": SEVERITY.get(gap.severity),
        "rule_id": gap.rule_id or None,
        "cve": gap.cve or None,
        "remediation": gap.remediation,
    }


def summary(control: report_pb2.Control) -> dict[str, Any]:
    return {
        "id": control.control_id,
        "name": control.name,
        "status": STATUS.get(control.status, "not_assessed"),
        "frameworks": list(control.frameworks),
        "evidence_count": control.evidence_count,
        "framework": control.framework,
        "ref": control.ref,
        "gaps_total": control.gaps_total,
        "manual": control.manual,
        "automated": control.automated,
    }


def control(message: report_pb2.Control) -> dict[str, Any]:
    attestation = None
    if message.HasField("attestation"):
        a = message.attestation
        attestation = {
            "status": STATUS.get(a.status),
            "note": a.note,
            "owner": a.owner_user_id or None,
            "updated_by": a.updated_by,
            "updated_at": when(a.updated_at),
        }
    return {
        **summary(message),
        "description": message.description,
        "checks": [
            {"check": c.check, "outcome": c.outcome, "detail": c.detail, "count": c.count}
            for c in message.checks
        ],
        "gaps": [_gap(g) for g in message.gaps],
        "failing_hosts": list(message.failing_hosts),
        "excluded": [_gap(g) for g in message.excluded],
        "attestation": attestation,
    }


def evidence(message: report_pb2.ControlEvidence) -> dict[str, Any]:
    return {
        "id": message.evidence_id,
        "control_id": message.control_id,
        "filename": message.filename,
        "content_type": message.content_type,
        "size": message.size,
        "sha256": message.sha256,
        "verdict": message.verdict,
        "analysis_id": message.analysis_id,
        "uploaded_by": message.uploaded_by,
        "uploaded_at": when(message.uploaded_at),
    }


def detail(message: report_pb2.ControlDetail) -> dict[str, Any]:
    return {
        **control(message.control),
        "history": [
            {
                "at": when(h.at),
                "actor": h.actor,
                "from_status": STATUS.get(h.from_status),
                "to_status": STATUS.get(h.to_status),
                "note": h.note,
                "owner": h.owner_user_id or None,
            }
            for h in message.history
        ],
        "evidence": [evidence(e) for e in message.evidence],
    }


def framework(message: report_pb2.FrameworkPosture) -> dict[str, Any]:
    controls = [control(c) for c in message.controls]
    return {
        "framework": message.framework,
        "name": message.name,
        "version": message.version,
        "score": message.score,
        "controls_total": message.controls_total,
        "passing": message.passing,
        "failing": message.failing,
        "not_assessed": message.not_assessed,
        "manual": message.manual,
        "gaps": [c for c in controls if c["status"] == "failing"],
        "controls": controls,
    }


def posture(message: report_pb2.CompliancePosture) -> dict[str, Any]:
    return {
        "evaluated_at": when(message.evaluated_at),
        "assets": message.assets,
        "findings_open": message.findings_open,
        "findings_excluded": message.findings_excluded,
        "frameworks": [framework(f) for f in message.frameworks],
    }


def controls(message: report_pb2.ListControlsResponse) -> dict[str, Any]:
    return {
        "items": [summary(c) for c in message.controls],
        "total": message.page.total,
        "page": message.page.page,
        "per_page": message.page.per_page,
        "pages": message.page.pages,
    }


def history(message: report_pb2.ComplianceHistory, days: int) -> dict[str, Any]:
    return {
        "days": days,
        "snapshots": [
            {
                "day": s.day,
                "at": when(s.at),
                "scores": dict(s.scores),
                "statuses": {k: STATUS.get(v, "not_assessed") for k, v in s.statuses.items()},
            }
            for s in message.snapshots
        ],
    }
