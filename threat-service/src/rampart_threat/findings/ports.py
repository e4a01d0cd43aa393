"""What the finding pipeline needs from its parts (the consumer wires them; fakes stand in for unit tests).

scan event (port / service detected) ──► FindingSource.findings_for ──► FindingLedger.record
    ──► FindingNotice on scan.events.<scan_id>.finding
scan event (final) ──► FindingLedger.settle ──► FindingsSettled on scan.events.<scan_id>.findings_settled
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from rampart.scan.v1 import scan_pb2
from rampart_threat.findings.model import Finding


@dataclass(frozen=True)
class ScanContext:
    """The scan a port event belongs to, as the pipeline knows it."""

    scan_id: str
    org_id: str
    live: bool
    profile: str = ""  # the scan's profile: checks beyond a handshake only under "pentest"


class FindingSource(Protocol):
    """Turns one observed port (with its service, TLS audit and facts) into findings: the knowledge
    matcher's CVEs (vulnerable_service) and the rule files' checks (misconfiguration / exposure)."""

    async def findings_for(self, context: ScanContext, port: scan_pb2.PortResult) -> Sequence[Finding]: ...


@dataclass(frozen=True)
class Sighting:
    """What recording one finding did to its vulnerability record."""

    vulnerability_id: str
    status: str  # the record's status after this sighting (open, reopened, false_positive, ...)
    first_sighting: bool  # the record was created by this finding
    changed: bool  # False when this exact (fingerprint, scan) was recorded before: a redelivery


@dataclass(frozen=True)
class Coverage:
    """What a finished scan looked at: a record on a covered (host, port) it did not see is resolved."""

    scan_id: str
    org_id: str
    live: bool
    hosts: frozenset[str]
    ports: frozenset[tuple[int, str]]  # (port, protocol)
    seen: frozenset[str] = field(default_factory=frozenset)  # fingerprints this scan recorded


@dataclass(frozen=True)
class Settlement:
    findings: int
    by_severity: dict[str, int]
    resolved: int


class FindingLedger(Protocol):
    """The vulnerability records: one per fingerprint, with sightings, lifecycle and history."""

    async def record(self, finding: Finding) -> Sighting: ...

    async def record_many(self, findings: Sequence[Finding]) -> list[Sighting]:
        """``record`` for each, in order (a batch of port events: fewer store round trips)."""
        ...

    async def settle(self, coverage: Coverage) -> Settlement: ...
