"""What the assistant needs from the services that own the caller's objects.

Every method takes the ``Caller``: the adapters (``clients.py``) pass it as the request's owner,
so another organisation's object is simply not found. Tests use the in-memory fakes in
``ai-service/tests/fakes.py``.
"""

from __future__ import annotations

from typing import Protocol

from rampart_ai.domain import Caller, CveFact, CveVerdict, IncidentFact, PortFact, ScanFacts, VulnFact


class SourceUnavailable(Exception):
    """An owning service did not answer (down, timed out, or the RPC is not built there yet)."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


class Scans(Protocol):
    """scan-service: GetScan, GetScanResults, ListScans."""

    async def get(self, caller: Caller, scan_id: str) -> ScanFacts:
        """The scan with its results when it has any; ScanNotFound for another tenant's."""
        ...

    async def recent(self, caller: Caller, target: str = "", limit: int = 10) -> list[ScanFacts]:
        """The caller's scans (newest first, without results), optionally of one target."""
        ...


class Findings(Protocol):
    """threat-service's findings: ListVulnerabilities and GetVulnerability."""

    async def for_scan(self, caller: Caller, scan_id: str) -> list[VulnFact]: ...

    async def for_host(self, caller: Caller, host: str) -> list[VulnFact]: ...

    async def get(self, caller: Caller, vulnerability_id: str) -> VulnFact:
        """VulnerabilityNotFound for an unknown or another tenant's id."""
        ...


class Threats(Protocol):
    """threat-service's incidents and vulnerability catalogue."""

    async def incident(self, caller: Caller, incident_id: str) -> IncidentFact: ...

    async def cve(self, caller: Caller, cve_id: str) -> CveFact | None:
        """The catalogue entry, None when the catalogue does not have it."""
        ...

    async def match(self, caller: Caller, port: PortFact, cve_id: str) -> CveVerdict:
        """Whether the catalogue lists ``cve_id`` for the software detected on ``port``."""
        ...


class TokenBudget(Protocol):
    """The provider tokens a request may spend: reserve before the call, settle after it."""

    async def reserve(self, tokens: int) -> bool:
        """Take ``tokens`` from today's allowance; False (nothing taken) when it would go over."""
        ...

    async def settle(self, reserved: int, used: int) -> None:
        """Replace a reservation by what the call actually used."""
        ...
