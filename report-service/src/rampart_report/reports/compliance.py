"""Compliance reports: the organisation's posture per framework (compliance.service), as a
document: scores and control counts (``posture``), and each failing control's gaps (``gaps``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from rampart_report.compliance.catalogue import FrameworkNotFound
from rampart_report.compliance.domain import FrameworkPosture, Posture, Status
from rampart_report.compliance.domain import Tenant as ComplianceTenant
from rampart_report.reports.model import Report, ReportFailed, Section

MAX_GAPS_SHOWN = 20  # per control


class PostureSource(Protocol):
    """``compliance.service.ComplianceService.posture``."""

    async def posture(self, tenant: ComplianceTenant, frameworks: Sequence[str] = ()) -> Posture: ...


async def posture_of(source: PostureSource, report: Report) -> Posture:
    tenant = report.tenant
    who = ComplianceTenant(tenant.org_id, "test" if tenant.sandbox else "live", tenant.user_id)
    try:
        return await source.posture(who, report.request.frameworks)
    except FrameworkNotFound as error:
        raise ReportFailed(error.message) from error


def _framework(framework: FrameworkPosture, with_gaps: bool) -> dict[str, Any]:
    item: dict[str, Any] = {
        "framework": framework.key,
        "name": framework.name,
        "version": framework.version,
        "score": framework.score,
        "controls": len(framework.controls),
        **{status.value: framework.count(status) for status in Status},
    }
    if with_gaps:
        item["failing_controls"] = [
            {
                "control_id": control.control.control_id,
                "name": control.control.name,
                "gaps_total": control.gaps_total,
                "gaps": [
                    {
                        "check": gap.check,
                        "host": gap.host,
                        "port": gap.port,
                        "title": gap.title,
                        "severity": gap.severity,
                        "rule_id": gap.rule_id,
                        "cve": gap.cve,
                        "remediation": gap.remediation,
                    }
                    for gap in control.gaps[:MAX_GAPS_SHOWN]
                ],
            }
            for control in framework.controls
            if control.status is Status.FAILING
        ]
    return item


def compliance_document(report: Report, posture: Posture, at: datetime) -> dict[str, Any]:
    """What every format of a compliance report shows, as data."""
    return {
        "report_id": report.report_id,
        "title": report.request.title,
        "type": "compliance",
        "generated_at": at.isoformat().replace("+00:00", "Z"),
        "evaluated_at": posture.evaluated_at.isoformat().replace("+00:00", "Z"),
        "assets": posture.assets,
        "findings_open": posture.findings_open,
        "findings_excluded": posture.findings_excluded,
        "frameworks": [_framework(f, "gaps" in report.request.sections) for f in posture.frameworks],
    }


def compliance_json(document: dict[str, Any]) -> bytes:
    return json.dumps(document, indent=2).encode()


def compliance_sections(report: Report) -> tuple[Section, ...]:
    return tuple(Section(name, True, "", "compliance") for name in report.request.sections)
