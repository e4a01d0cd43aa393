"""The compliance ports over gRPC and the outbox: findings from threat-service, scans from scan-service,
the payload analysis of evidence files, and the ``compliance.changed`` event.

Every call carries the caller's own Owner, so threat- and scan-service scope the answer to the caller's
organisation and world themselves (tenancy by construction, not by filtering here).
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

from rampart.common.v1 import common_pb2
from rampart.lib.catalogue import subjects
from rampart.lib.ids import from_timestamp, new_id, to_timestamp
from rampart.lib.outbox import Outbox
from rampart.report.v1 import report_pb2
from rampart.scan.v1 import scan_pb2, scan_pb2_grpc
from rampart.threat.v1 import threat_pb2, threat_pb2_grpc
from rampart_report.compliance import mappers
from rampart_report.compliance.domain import (
    ControlChange,
    FindingRecord,
    FindingStatus,
    PayloadVerdict,
    ScanRecord,
    Tenant,
)

PER_PAGE = 100  # both services' maximum
MAX_FINDINGS = 250_000  # a bound on one computation's reads (2,500 pages)
MAX_SCANS = 10_000
SCAN_WINDOW_DAYS = 366  # scans older than the longest freshness window say nothing more
TIMEOUT = 10.0
COUNTED = (
    threat_pb2.VULNERABILITY_STATUS_OPEN,
    threat_pb2.VULNERABILITY_STATUS_CONFIRMED,
    threat_pb2.VULNERABILITY_STATUS_REOPENED,
    threat_pb2.VULNERABILITY_STATUS_FALSE_POSITIVE,  # listed as excluded
    threat_pb2.VULNERABILITY_STATUS_ACCEPTED_RISK,  # excluded until it expires
)
_STATUS = {
    threat_pb2.VULNERABILITY_STATUS_OPEN: FindingStatus.OPEN,
    threat_pb2.VULNERABILITY_STATUS_CONFIRMED: FindingStatus.CONFIRMED,
    threat_pb2.VULNERABILITY_STATUS_REOPENED: FindingStatus.REOPENED,
    threat_pb2.VULNERABILITY_STATUS_FALSE_POSITIVE: FindingStatus.FALSE_POSITIVE,
    threat_pb2.VULNERABILITY_STATUS_ACCEPTED_RISK: FindingStatus.ACCEPTED_RISK,
    threat_pb2.VULNERABILITY_STATUS_RESOLVED: FindingStatus.RESOLVED,
}
_TYPE = {
    threat_pb2.VULNERABILITY_TYPE_VULNERABLE_SERVICE: "vulnerable_service",
    threat_pb2.VULNERABILITY_TYPE_MISCONFIGURATION: "misconfiguration",
    threat_pb2.VULNERABILITY_TYPE_EXPOSURE: "exposure",
}
_SEVERITY = {value: name for name, value in mappers.SEVERITY.items()}
_SCAN_STATUS = {
    scan_pb2.SCAN_STATUS_QUEUED: "queued",
    scan_pb2.SCAN_STATUS_RUNNING: "running",
    scan_pb2.SCAN_STATUS_COMPLETED: "completed",
    scan_pb2.SCAN_STATUS_FAILED: "failed",
    scan_pb2.SCAN_STATUS_CANCELLED: "cancelled",
    scan_pb2.SCAN_STATUS_TIMEOUT: "timeout",
}
_VERDICT = {
    threat_pb2.VERDICT_BENIGN: "benign",
    threat_pb2.VERDICT_SUSPICIOUS: "suspicious",
    threat_pb2.VERDICT_MALICIOUS: "malicious",
}


def finding_record(v: threat_pb2.Vulnerability) -> FindingRecord:
    return FindingRecord(
        v.vulnerability_id,
        v.host,
        v.port,
        _TYPE.get(v.type, "misconfiguration"),
        _SEVERITY.get(v.severity, "info"),
        _STATUS.get(v.status, FindingStatus.OPEN),
        title=v.title,
        rule_id=v.rule_id,
        cve=v.cve,
        cwes=tuple(v.cwe),
        remediation=v.remediation,
        accepted_until=from_timestamp(v.accepted_until) if v.HasField("accepted_until") else None,
        last_seen=from_timestamp(v.last_seen) if v.HasField("last_seen") else None,
    )


def scan_record(scan: scan_pb2.Scan) -> ScanRecord:
    completed = from_timestamp(scan.completed_at) if scan.HasField("completed_at") else None
    return ScanRecord(scan.scan_id, tuple(scan.targets), _SCAN_STATUS.get(scan.status, "unknown"), completed)


class GrpcPostureSources:
    """Reads the organisation's vulnerability records and scans with the caller's owner."""

    def __init__(
        self, threat: threat_pb2_grpc.ThreatServiceStub, scan: scan_pb2_grpc.ScanServiceStub
    ) -> None:
        self._threat = threat
        self._scan = scan

    async def findings(self, tenant: Tenant) -> list[FindingRecord]:
        records: list[FindingRecord] = []
        cursor = ""
        while len(records) < MAX_FINDINGS:
            reply = await self._threat.ListVulnerabilities(
                threat_pb2.ListVulnerabilitiesRequest(
                    owner=mappers.owner(tenant),
                    statuses=COUNTED,
                    page=common_pb2.PageRequest(per_page=PER_PAGE, cursor=cursor, sort="first_seen"),
                ),
                timeout=TIMEOUT,
            )
            records.extend(finding_record(v) for v in reply.vulnerabilities)
            cursor = reply.page.next_cursor
            if not cursor:
                break
        return records

    async def scans(self, tenant: Tenant) -> list[ScanRecord]:
        created = common_pb2.TimeRange()
        created.after.FromDatetime(datetime.now(UTC) - timedelta(days=SCAN_WINDOW_DAYS))
        records: list[ScanRecord] = []
        cursor = ""
        while len(records) < MAX_SCANS:
            reply = await self._scan.ListScans(
                scan_pb2.ListScansRequest(
                    owner=mappers.owner(tenant),
                    created=created,
                    page=common_pb2.PageRequest(per_page=PER_PAGE, cursor=cursor),
                ),
                timeout=TIMEOUT,
            )
            records.extend(scan_record(s) for s in reply.scans)
            cursor = reply.page.next_cursor
            if not cursor:
                break
        return records


class GrpcPayloadScanner:
    """threat-service's payload analysis (deep mode) of an evidence file; binary files go base64-encoded,
    which the analysis decodes as a layer before its YARA rules run."""

    def __init__(self, threat: threat_pb2_grpc.ThreatServiceStub) -> None:
        self._threat = threat

    async def scan(self, tenant: Tenant, content: bytes, text: bool, filename: str) -> PayloadVerdict:
        body = content.decode("utf-8") if text else base64.b64encode(content).decode("ascii")
        reply = await self._threat.AnalyzeThreat(
            threat_pb2.AnalyzeThreatRequest(
                owner=mappers.owner(tenant),
                target=body,
                kind=threat_pb2.INDICATOR_KIND_PAYLOAD,
                mode=threat_pb2.ANALYSIS_MODE_DEEP,
                metadata={"source": "compliance-evidence", "filename": filename[:200]},
            ),
            timeout=30.0,
        )
        return PayloadVerdict(
            _VERDICT.get(reply.verdict, "unknown"),
            reply.analysis_id,
            reply.risk_score,
            tuple(f"{r.signal}: {r.evidence}"[:200] for r in reply.reasons if r.weight > 0),
        )


class OutboxComplianceEvents:
    """``compliance.changed`` through report-service's outbox (at least once; Nats-Msg-Id = event id)."""

    def __init__(self, outbox: Outbox, names: dict[str, str]) -> None:
        self._outbox = outbox
        self._names = names  # control id -> name

    async def control_changed(
        self, tenant: Tenant, control_id: str, framework: str, change: ControlChange, score: float
    ) -> None:
        event_id = change.change_id or new_id("evt")  # Nats-Msg-Id: the broker drops a repeat
        event = report_pb2.ComplianceChanged(
            event_id=event_id,
            owner=common_pb2.Owner(org_id=tenant.org_id, mode=mappers.owner(tenant).mode),
            control_id=control_id,
            framework=framework,
            control_name=self._names.get(control_id, ""),
            from_status=mappers.STATUS_NAME.get(change.from_status, report_pb2.CONTROL_STATUS_UNSPECIFIED),
            to_status=mappers.STATUS_NAME.get(change.to_status, report_pb2.CONTROL_STATUS_UNSPECIFIED),
            framework_score=score,
            occurred_at=to_timestamp(change.at),
        )
        await self._outbox.add(subjects.COMPLIANCE_CHANGED, event.SerializeToString(), event_id)
