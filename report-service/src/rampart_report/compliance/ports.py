"""What the compliance service needs from outside: findings, scans, payload analysis, storage, events."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from rampart_report.compliance.domain import (
    Attestation,
    ControlChange,
    EvidenceFile,
    FindingRecord,
    PayloadVerdict,
    ScanRecord,
    Snapshot,
    Tenant,
)


class PostureSources(Protocol):
    """The organisation's current records, fetched with the caller's owner (threat- and scan-service)."""

    async def findings(self, tenant: Tenant) -> list[FindingRecord]: ...

    async def scans(self, tenant: Tenant) -> list[ScanRecord]: ...


class PayloadScanner(Protocol):
    """threat-service's payload analysis (AnalyzeThreat, payload kind)."""

    async def scan(self, tenant: Tenant, content: bytes, text: bool, filename: str) -> PayloadVerdict: ...


class ComplianceEvents(Protocol):
    """Publishes ``compliance.changed`` (through the outbox)."""

    async def control_changed(
        self, tenant: Tenant, control_id: str, framework: str, change: ControlChange, score: float
    ) -> None: ...


class ComplianceRepository(Protocol):
    """Every read and write is scoped by the tenant's organisation and world."""

    async def attestations(self, tenant: Tenant) -> dict[str, Attestation]: ...

    async def attest(self, tenant: Tenant, attestation: Attestation) -> None: ...

    async def add_change(self, tenant: Tenant, change: ControlChange) -> bool:
        """False when a change with the same ``change_id`` was recorded already."""
        ...

    async def changes(self, tenant: Tenant, control_id: str, limit: int) -> list[ControlChange]: ...

    async def evidence_counts(self, tenant: Tenant) -> dict[str, int]: ...

    async def add_evidence(self, tenant: Tenant, evidence: EvidenceFile, content: bytes) -> None: ...

    async def evidence(self, tenant: Tenant, control_id: str) -> list[EvidenceFile]: ...

    async def latest_snapshot(self, tenant: Tenant) -> Snapshot | None: ...

    async def save_snapshot(self, tenant: Tenant, snapshot: Snapshot) -> None: ...

    async def snapshots(self, tenant: Tenant, since: datetime, until: datetime) -> Sequence[Snapshot]: ...
