"""What a scan finds: ports with their services and TLS audits, and a summary per host."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

OPEN, CLOSED, FILTERED = "open", "closed", "filtered"


@dataclass(frozen=True)
class PortCounts:
    """Ports by state."""

    open: int = 0
    closed: int = 0
    filtered: int = 0

    @property
    def total(self) -> int:
        return self.open + self.closed + self.filtered

    def plus(self, counts: Mapping[str, int]) -> PortCounts:
        return PortCounts(
            self.open + counts.get(OPEN, 0),
            self.closed + counts.get(CLOSED, 0),
            self.filtered + counts.get(FILTERED, 0),
        )

    def as_dict(self) -> dict[str, int]:
        return {OPEN: self.open, CLOSED: self.closed, FILTERED: self.filtered}


@dataclass(frozen=True)
class ServiceInfo:
    """The service detected on a port."""

    name: str
    product: str = ""
    version: str = ""
    extra_info: str = ""
    cpe: str = ""
    confidence: int = 0
    evidence: str = ""
    facts: Mapping[str, str] = field(default_factory=dict)  # "<family>.<fact>": what the service told


@dataclass(frozen=True)
class Certificate:
    """The leaf certificate a TLS port presented, with what is wrong with it."""

    subject: str
    issuer: str
    subject_alt_names: tuple[str, ...]
    not_before: datetime
    not_after: datetime
    key_type: str
    key_bits: int
    signature_algorithm: str
    self_signed: bool
    expired: bool
    not_yet_valid: bool
    hostname_mismatch: bool


@dataclass(frozen=True)
class TlsAudit:
    """Protocols and cipher a TLS port accepts, its certificate and its weaknesses."""

    protocols_accepted: tuple[str, ...] = ()
    negotiated_protocol: str = ""
    negotiated_cipher: str = ""
    certificate: Certificate | None = None
    weaknesses: tuple[str, ...] = ()


@dataclass(frozen=True)
class PortResult:
    """One port of one host; ``name`` is the host name the caller gave, if any."""

    host: str
    port: int
    state: str
    rtt_ms: float | None = None
    name: str = ""
    service: ServiceInfo | None = None
    tls: TlsAudit | None = None
    found_at: datetime | None = None


@dataclass(frozen=True)
class OsHint:
    """The operating system the services point to, with each clue."""

    name: str
    confidence: int
    evidence: tuple[str, ...]


@dataclass(frozen=True)
class HostResult:
    """One host's summary once its ports are done."""

    host: str
    name: str = ""
    counts: PortCounts = field(default_factory=PortCounts)
    filtered_ports: tuple[int, ...] = ()
    duration_seconds: float = 0.0
    os: OsHint | None = None
