"""In-memory stand-ins for the finding pipeline's ports (unit tests)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from rampart.scan.v1 import scan_pb2
from rampart_threat.findings.model import Finding, FindingType, Severity
from rampart_threat.findings.ports import Coverage, ScanContext, Settlement, Sighting

AT = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


class RuleSource:
    """One finding per open service: a rule named after the service (and a CVE for ssh)."""

    def __init__(self) -> None:
        self.contexts: list[ScanContext] = []

    async def findings_for(self, context: ScanContext, port: scan_pb2.PortResult) -> Sequence[Finding]:
        self.contexts.append(context)

        def finding(kind: FindingType, subject: str, severity: Severity) -> Finding:
            return Finding(
                org_id=context.org_id,
                scan_id=context.scan_id,
                live=context.live,
                host=port.host,
                port=port.port,
                protocol=port.protocol,
                type=kind,
                subject=subject,
                title=f"{subject} on {port.service.name}",
                severity=severity,
                detected_at=AT,
            )

        found = [finding(FindingType.EXPOSURE, f"RMP-{port.service.name.upper()}-001", Severity.MEDIUM)]
        if port.service.name == "ssh":
            found.append(finding(FindingType.VULNERABLE_SERVICE, "CVE-2024-6387", Severity.HIGH))
        return found


@dataclass
class Ledger:
    """Records by fingerprint; a (fingerprint, scan) recorded before is a redelivery."""

    records: dict[str, set[str]] = field(default_factory=dict)  # fingerprint -> scans
    recorded: list[Finding] = field(default_factory=list)
    settled: list[Coverage] = field(default_factory=list)
    resolved: int = 0

    async def record(self, finding: Finding) -> Sighting:
        self.recorded.append(finding)
        scans = self.records.setdefault(finding.fingerprint, set())
        first, changed = not scans, finding.scan_id not in scans
        scans.add(finding.scan_id)
        return Sighting(f"vuln_{finding.fingerprint[:12]}", "open", first, changed)

    async def record_many(self, findings: Sequence[Finding]) -> list[Sighting]:
        return [await self.record(finding) for finding in findings]

    async def settle(self, coverage: Coverage) -> Settlement:
        self.settled.append(coverage)
        return Settlement(
            findings=len(coverage.seen), by_severity={"medium": len(coverage.seen)}, resolved=self.resolved
        )


@dataclass
class Outbox:
    """As ``rampart.lib.outbox.Outbox.add_entries``: an event id already stored is not stored (nor sent)
    again."""

    adds: list[str] = field(default_factory=list)  # every entry's event id
    sent: list[tuple[str, scan_pb2.ScanEvent]] = field(default_factory=list)

    async def add_entries(self, entries: list[dict[str, Any]]) -> None:
        for entry in entries:
            self.adds.append(entry["_id"])
            if entry["_id"] in {event.event_id for _, event in self.sent}:
                continue
            event = scan_pb2.ScanEvent.FromString(entry["payload"])
            assert event.event_id == entry["_id"]
            self.sent.append((entry["subject"], event))

    def of_type(self, kind: scan_pb2.ScanEventType.ValueType) -> list[scan_pb2.ScanEvent]:
        return [event for _, event in self.sent if event.type == kind]
