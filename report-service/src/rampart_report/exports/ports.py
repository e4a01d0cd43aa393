"""What the export use case needs from other services, as protocols; adapters.py implements them
over gRPC, the tests over lists."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from rampart_report.exports.model import (
    FindingEntry,
    HistoryPoint,
    PortEntry,
    ScanInfo,
    VulnerabilityFilter,
    VulnerabilityRecord,
)


@dataclass(frozen=True)
class Requester:
    """On whose behalf an export is made: every call to another service carries it (tenancy)."""

    org_id: str
    user_id: str = ""
    live: bool = True  # False for a test key: sandbox scans and test records only


class ScanSource(Protocol):
    """The scan, its ports, and the earlier scans of the same targets (scan-service)."""

    async def results(self, requester: Requester, scan_id: str) -> tuple[ScanInfo, tuple[PortEntry, ...]]:
        """Raises ScanNotFound for an unknown scan or another organisation's."""
        ...

    async def history(self, requester: Requester, scan: ScanInfo, limit: int) -> tuple[HistoryPoint, ...]:
        """The most recent completed scans of the same targets, oldest first (this one included)."""
        ...


class FindingSource(Protocol):
    """The findings a scan saw (threat-service's vulnerability records)."""

    async def findings(self, requester: Requester, scan_id: str) -> tuple[FindingEntry, ...]:
        """Raises FindingsUnavailable when threat-service cannot answer."""
        ...


class VulnerabilitySource(Protocol):
    """The organisation's vulnerability records chosen by the list filters (threat-service)."""

    async def records(
        self, requester: Requester, chosen: VulnerabilityFilter, limit: int
    ) -> tuple[VulnerabilityRecord, ...]:
        """In the order asked; raises ExportTooLarge when more than ``limit`` match."""
        ...
