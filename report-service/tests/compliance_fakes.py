"""In-memory stand-ins for the compliance service's ports (findings, scans, analysis, store, events)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from rampart_report.compliance.catalogue import load_catalogue
from rampart_report.compliance.domain import (
    Attestation,
    ControlChange,
    EvidenceFile,
    FindingRecord,
    FindingStatus,
    PayloadVerdict,
    ScanRecord,
    Snapshot,
    Tenant,
)
from rampart_report.compliance.service import ComplianceService

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ACME = Tenant("org_acme", "live", "usr_alice")
GLOBEX = Tenant("org_globex", "live", "usr_bob")
CATALOGUE = load_catalogue()


class Clock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def finding(
    finding_id: str,
    host: str = "10.0.0.5",
    *,
    rule_id: str = "",
    cve: str = "",
    cwes: tuple[str, ...] = (),
    type: str = "misconfiguration",
    severity: str = "medium",
    status: FindingStatus = FindingStatus.OPEN,
    accepted_until: datetime | None = None,
    port: int = 443,
) -> FindingRecord:
    return FindingRecord(
        finding_id,
        host,
        port,
        type,
        severity,
        status,
        title=f"title of {finding_id}",
        rule_id=rule_id,
        cve=cve,
        cwes=cwes,
        remediation=f"fix {finding_id}",
        accepted_until=accepted_until,
        last_seen=T0 - timedelta(days=1),
    )


@dataclass
class FakeSources:
    """Per organisation: what threat-service and scan-service would answer for that owner."""

    findings_by_org: dict[str, list[FindingRecord]] = field(default_factory=lambda: defaultdict(list))
    scans_by_org: dict[str, list[ScanRecord]] = field(default_factory=lambda: defaultdict(list))
    asked: list[Tenant] = field(default_factory=list)

    async def findings(self, tenant: Tenant) -> list[FindingRecord]:
        self.asked.append(tenant)
        return list(self.findings_by_org[tenant.org_id])

    async def scans(self, tenant: Tenant) -> list[ScanRecord]:
        return list(self.scans_by_org[tenant.org_id])

    def set_status(
        self, org_id: str, finding_id: str, status: FindingStatus, until: datetime | None = None
    ) -> None:
        records = self.findings_by_org[org_id]
        for i, record in enumerate(records):
            if record.finding_id == finding_id:
                records[i] = replace(record, status=status, accepted_until=until)


@dataclass
class FakeScanner:
    """Calls it malicious when the content holds the marker; records what it was given."""

    marker: bytes = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR"
    seen: list[tuple[bytes, bool]] = field(default_factory=list)

    async def scan(self, tenant: Tenant, content: bytes, text: bool, filename: str) -> PayloadVerdict:
        self.seen.append((content, text))
        if self.marker in content:
            return PayloadVerdict("malicious", "ana_bad", 95, ("yara: test marker",))
        return PayloadVerdict("benign", "ana_ok", 0)


@dataclass
class RecordingEvents:
    published: list[tuple[Tenant, str, str, ControlChange, float]] = field(default_factory=list)

    async def control_changed(
        self, tenant: Tenant, control_id: str, framework: str, change: ControlChange, score: float
    ) -> None:
        self.published.append((tenant, control_id, framework, change, score))


def _key(tenant: Tenant) -> tuple[str, str]:
    return (tenant.org_id, tenant.mode)


class FakeComplianceRepository:
    """The repository's contract in memory, keyed by (organisation, world)."""

    def __init__(self) -> None:
        self.attested: dict[tuple[str, str], dict[str, Attestation]] = defaultdict(dict)
        self.changed: dict[tuple[str, str], list[ControlChange]] = defaultdict(list)
        self.files: dict[tuple[str, str], list[tuple[EvidenceFile, bytes]]] = defaultdict(list)
        self.days: dict[tuple[str, str], dict[str, Snapshot]] = defaultdict(dict)

    async def attestations(self, tenant: Tenant) -> dict[str, Attestation]:
        return dict(self.attested[_key(tenant)])

    async def attest(self, tenant: Tenant, attestation: Attestation) -> None:
        self.attested[_key(tenant)][attestation.control_id] = attestation

    async def add_change(self, tenant: Tenant, change: ControlChange) -> bool:
        known = self.changed[_key(tenant)]
        if change.change_id and any(c.change_id == change.change_id for c in known):
            return False
        known.append(change)
        return True

    async def changes(self, tenant: Tenant, control_id: str, limit: int) -> list[ControlChange]:
        return [c for c in self.changed[_key(tenant)] if c.control_id == control_id][-limit:]

    async def evidence_counts(self, tenant: Tenant) -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        for evidence, _ in self.files[_key(tenant)]:
            counts[evidence.control_id] += 1
        return dict(counts)

    async def add_evidence(self, tenant: Tenant, evidence: EvidenceFile, content: bytes) -> None:
        self.files[_key(tenant)].append((evidence, content))

    async def evidence(self, tenant: Tenant, control_id: str) -> list[EvidenceFile]:
        return [e for e, _ in self.files[_key(tenant)] if e.control_id == control_id]

    async def latest_snapshot(self, tenant: Tenant) -> Snapshot | None:
        days = self.days[_key(tenant)]
        return days[max(days)] if days else None

    async def save_snapshot(self, tenant: Tenant, snapshot: Snapshot) -> None:
        self.days[_key(tenant)][snapshot.day] = snapshot

    async def snapshots(self, tenant: Tenant, since: datetime, until: datetime) -> Sequence[Snapshot]:
        return [s for day, s in sorted(self.days[_key(tenant)].items()) if since <= s.at <= until]


@dataclass
class World:
    service: ComplianceService
    sources: FakeSources
    repository: FakeComplianceRepository
    scanner: FakeScanner
    events: RecordingEvents
    clock: Clock


def world() -> World:
    sources, repository, scanner, events, clock = (
        FakeSources(),
        FakeComplianceRepository(),
        FakeScanner(),
        RecordingEvents(),
        Clock(),
    )
    service = ComplianceService(CATALOGUE, repository, sources, scanner, events, clock)
    return World(service, sources, repository, scanner, events, clock)


def completed_scan(scan_id: str, *targets: str, days_ago: float = 1) -> ScanRecord:
    return ScanRecord(scan_id, targets, "completed", T0 - timedelta(days=days_ago))
