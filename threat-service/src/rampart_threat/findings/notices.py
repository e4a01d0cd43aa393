"""The pipeline's events on the scan's stream: a finding, and the end of a scan's findings.

Their event ids are the Nats-Msg-Id and the outbox key: derived from what they announce, so a
redelivered scan event (or a restart between the ledger and the outbox) announces nothing twice.
"""

from __future__ import annotations

from datetime import datetime

from rampart.lib.catalogue import subjects
from rampart.lib.ids import to_timestamp
from rampart.scan.v1 import scan_pb2
from rampart_threat.findings.model import Finding
from rampart_threat.findings.ports import Settlement, Sighting
from rampart_threat.findings.tally import ScanFinding

FINDING_KIND = "finding"
SETTLED_KIND = "findings_settled"


def finding_event_id(scan_id: str, fingerprint: str) -> str:
    """One announcement per finding per scan, whatever the scan's port and service events repeat."""
    return f"{scan_id}.finding.{fingerprint}"


def settled_event_id(final: scan_pb2.ScanEvent) -> str:
    """One per run of the scan: a resumed scan ends again (its final event has another id)."""
    return f"{final.event_id}.{SETTLED_KIND}"


def scan_finding(finding: Finding, sighting: Sighting) -> ScanFinding:
    """The finding as its scan announces it, with what recording it did to its record."""
    return ScanFinding(
        vulnerability_id=sighting.vulnerability_id,
        fingerprint=finding.fingerprint,
        type=finding.type.value,
        severity=finding.severity.value,
        title=finding.title,
        host=finding.host,
        port=finding.port,
        protocol=finding.protocol,
        cve=finding.cve,
        rule_id=finding.rule_id,
        status=sighting.status,
        first_sighting=sighting.first_sighting,
        confidence=finding.confidence.value,
        priority=finding.priority,
    )


def notice(finding: ScanFinding) -> scan_pb2.FindingNotice:
    return scan_pb2.FindingNotice(
        vulnerability_id=finding.vulnerability_id,
        fingerprint=finding.fingerprint,
        type=finding.type,
        severity=finding.severity,
        title=finding.title,
        host=finding.host,
        port=finding.port,
        protocol=finding.protocol,
        cve=finding.cve,
        rule_id=finding.rule_id,
        status=finding.status,
        first_sighting=finding.first_sighting,
        confidence=finding.confidence,
        priority=finding.priority,
    )


def _event(
    source: scan_pb2.ScanEvent, kind: scan_pb2.ScanEventType.ValueType, event_id: str, at: datetime
) -> scan_pb2.ScanEvent:
    return scan_pb2.ScanEvent(
        event_id=event_id,
        scan_id=source.scan_id,
        owner=source.owner,
        type=kind,
        sequence=int(at.timestamp() * 1_000_000),
        occurred_at=to_timestamp(at),
        status=source.status,
        profile=source.profile,
    )


def finding_event(
    source: scan_pb2.ScanEvent, finding: ScanFinding, at: datetime
) -> tuple[str, scan_pb2.ScanEvent]:
    """(subject, event) announcing one finding of the scan ``source`` belongs to."""
    event_id = finding_event_id(source.scan_id, finding.fingerprint)
    event = _event(source, scan_pb2.SCAN_EVENT_TYPE_FINDING, event_id, at)
    event.finding.CopyFrom(notice(finding))
    return subjects.scan_event(source.scan_id, FINDING_KIND), event


def settled_event(
    final: scan_pb2.ScanEvent, settlement: Settlement, at: datetime
) -> tuple[str, scan_pb2.ScanEvent]:
    """(subject, event) closing the findings of the scan ``final`` ended."""
    event = _event(final, scan_pb2.SCAN_EVENT_TYPE_FINDINGS_SETTLED, settled_event_id(final), at)
    event.settled.CopyFrom(
        scan_pb2.FindingsSettled(
            findings=settlement.findings, by_severity=settlement.by_severity, resolved=settlement.resolved
        )
    )
    return subjects.scan_event(final.scan_id, SETTLED_KIND), event
