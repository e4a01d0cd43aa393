"""The assistant's domain: the caller's objects as facts, citations, answers and their errors.

Facts are what the owning services returned for the caller (scan-service, threat-service);
the assistant never stores them. Every sentence about the caller's systems carries the
``Citation`` of the fact it comes from.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime

from rampart.lib.errors import InvalidArgument, NotFound, RampartError


@dataclass(frozen=True)
class Caller:
    """Who asks: the owner every call to another service is made with (tenancy by construction)."""

    user_id: str
    org_id: str
    mode: int = 0  # rampart.common.v1.KeyMode value; test keys see sandbox data only
    key_id: str = ""
    scopes: tuple[str, ...] = ()


class Level(enum.Enum):
    BEGINNER = "beginner"
    INTERMEDIATE = "intermediate"
    EXPERT = "expert"


class Audience(enum.Enum):
    EXECUTIVE = "executive"
    TECHNICAL = "technical"
    REMEDIATION = "remediation"


class Intent(enum.Enum):
    EXPOSURE = "exposure"
    URGENT = "urgent"
    CHANGES = "changes"
    REMEDIATE = "remediate"
    CVE_CHECK = "cve_check"
    EXPLAIN = "explain"
    SUMMARY = "summary"


SEVERITY_RANK = {"info": 1, "low": 2, "medium": 3, "high": 4, "critical": 5}


@dataclass(frozen=True)
class Citation:
    """One source object: ``kind`` scan, port, vulnerability, incident, cve, knowledge or cwe."""

    kind: str
    ref: str
    excerpt: str = ""
    scan_id: str = ""
    host: str = ""
    port: int = 0
    protocol: str = ""

    @property
    def about_caller(self) -> bool:
        return self.kind in {"scan", "port", "vulnerability", "incident"}


@dataclass(frozen=True)
class TlsFacts:
    protocols: tuple[str, ...] = ()
    negotiated_protocol: str = ""
    cipher: str = ""
    weaknesses: tuple[str, ...] = ()
    self_signed: bool = False
    expired: bool = False
    hostname_mismatch: bool = False
    not_after: datetime | None = None
    subject: str = ""


@dataclass(frozen=True)
class PortFact:
    """One port of a scan's results."""

    scan_id: str
    host: str
    port: int
    protocol: str
    state: str  # open, closed, filtered
    service: str = ""
    product: str = ""
    version: str = ""
    cpe: str = ""
    banner: str = ""  # scanned data: quoted, never obeyed
    facts: tuple[tuple[str, str], ...] = ()
    tls: TlsFacts | None = None

    @property
    def endpoint(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def software(self) -> str:
        return " ".join(part for part in (self.product, self.version) if part)

    def fact(self, key: str) -> str:
        return dict(self.facts).get(key, "")

    def citation(self) -> Citation:
        label = f"{self.port}/{self.protocol} {self.state}"
        detail = ", ".join(p for p in (self.service, self.software) if p)
        return Citation(
            "port",
            self.endpoint,
            f"{label} {detail}".strip(),
            self.scan_id,
            self.host,
            self.port,
            self.protocol,
        )


@dataclass(frozen=True)
class ScanFacts:
    """A scan and, when it has them, its results."""

    scan_id: str
    targets: tuple[str, ...]
    status: str  # queued, running, completed, failed, cancelled, …
    created_at: datetime | None = None
    completed_at: datetime | None = None
    sandbox: bool = False
    ports: tuple[PortFact, ...] = ()
    hosts: tuple[str, ...] = ()
    counts: tuple[int, int, int] = (0, 0, 0)  # open, closed, filtered

    @property
    def open_ports(self) -> tuple[PortFact, ...]:
        return tuple(p for p in self.ports if p.state == "open")

    def citation(self) -> Citation:
        when = self.completed_at or self.created_at
        stamp = f", {when:%Y-%m-%d %H:%M} UTC" if when else ""
        return Citation(
            "scan", self.scan_id, f"{', '.join(self.targets)} ({self.status}{stamp})", self.scan_id
        )


@dataclass(frozen=True)
class VulnFact:
    """A finding (vulnerability) threat-service holds for the caller."""

    vulnerability_id: str
    title: str
    severity: str  # info … critical
    scan_id: str = ""
    host: str = ""
    port: int = 0
    description: str = ""
    cve: str = ""
    cvss: float = 0.0
    remediation: str = ""
    state: str = "open"
    evidence: str = ""
    cwe: tuple[str, ...] = ()
    rule_id: str = ""
    kev: bool = False
    epss: float = 0.0

    @property
    def endpoint(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}" if self.port else self.host

    @property
    def rank(self) -> tuple[int, int, float, float]:
        """Most urgent first: known exploited, then severity, then EPSS, then CVSS."""
        return (int(self.kev), SEVERITY_RANK.get(self.severity, 0), self.epss, self.cvss)

    @property
    def is_open(self) -> bool:
        return self.state in {"open", "triaged", "in_progress", ""}

    def citation(self) -> Citation:
        return Citation(
            "vulnerability",
            self.vulnerability_id,
            f"{self.severity}: {self.title}",
            self.scan_id,
            self.host,
            self.port,
        )


@dataclass(frozen=True)
class IncidentFact:
    incident_id: str
    title: str
    severity: str
    status: str
    description: str = ""
    affected_systems: tuple[str, ...] = ()
    related_findings: tuple[str, ...] = ()
    priority: str = ""
    next_steps: tuple[str, ...] = ()

    def citation(self) -> Citation:
        return Citation("incident", self.incident_id, f"{self.severity} {self.status}: {self.title}")


@dataclass(frozen=True)
class CveFact:
    """A CVE from threat-service's catalogue."""

    cve_id: str
    description: str = ""
    score: float = 0.0
    severity: str = ""
    kev: bool = False
    epss: float = 0.0
    priority: str = ""
    cwe: tuple[str, ...] = ()

    def citation(self) -> Citation:
        return Citation("cve", self.cve_id, self.description[:200])


@dataclass(frozen=True)
class CveVerdict:
    """Whether the catalogue matches a CVE to one port's detected software."""

    port: PortFact
    cve_id: str
    verdict: str  # affected / conditional / undetermined / not_listed
    reason: str = ""
    confidence: str = ""


@dataclass
class Answer:
    """Text whose markers [n] index ``citations`` (1-based); ``gaps`` says what was missing."""

    intent: Intent
    text: str
    citations: list[Citation] = field(default_factory=list)
    gaps: list[str] = field(default_factory=list)
    confidence: int = 0
    provider: str = "offline"  # or the configured provider's name when it wrote the text
    tokens: int = 0  # provider tokens spent on it (reported or estimated), 0 offline


@dataclass(frozen=True)
class RelatedId:
    id: str
    kind: str  # cwe, attack
    name: str = ""


@dataclass(frozen=True)
class Explanation:
    concept: str
    level: Level
    text: str
    related: tuple[RelatedId, ...] = ()
    example: str = ""
    citations: tuple[Citation, ...] = ()
    found: bool = True


@dataclass(frozen=True)
class Section:
    name: str
    title: str
    body: str
    citations: tuple[Citation, ...] = ()


@dataclass(frozen=True)
class Report:
    scan_id: str
    audience: Audience
    sections: tuple[Section, ...]
    gaps: tuple[str, ...] = ()


class ScanNotFound(RampartError):
    public_code = "SCAN_NOT_FOUND"


class IncidentNotFound(RampartError):
    public_code = "INCIDENT_NOT_FOUND"


class DependencyUnavailable(RampartError):
    """The service holding the object the question is about did not answer."""

    public_code = "SERVICE_UNAVAILABLE"


class VulnerabilityNotFound(NotFound):
    """No such finding for the caller (or another tenant's)."""


class InvalidQuestion(InvalidArgument):
    """The question or its context cannot be answered as given."""
