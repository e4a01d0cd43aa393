"""What an export is made of: the scan, its ports and its findings, as plain domain values."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class ExportFormat(StrEnum):
    JSON = "json"
    CSV = "csv"
    SARIF = "sarif"
    HTML = "html"
    PDF = "pdf"


class CsvKind(StrEnum):
    PORTS = "ports"  # one row per port
    FINDINGS = "findings"  # one row per finding


SEVERITIES = ("critical", "high", "medium", "low", "info")  # most severe first


@dataclass(frozen=True)
class ScanInfo:
    """The scan an export covers."""

    scan_id: str
    targets: tuple[str, ...]
    status: str  # queued / running / completed / failed / cancelled / timeout
    profile: str = ""
    ports: str = ""
    created_at: datetime | None = None
    completed_at: datetime | None = None
    sandbox: bool = False


@dataclass(frozen=True)
class PortEntry:
    """One port the scan reported, with what was detected on it."""

    host: str
    port: int
    protocol: str
    state: str  # open / closed / filtered
    service: str = ""
    product: str = ""
    version: str = ""
    cpe: str = ""
    confidence: int = 0
    evidence: str = ""  # the banner or response excerpt, as received (untrusted text)
    tls_protocols: tuple[str, ...] = ()
    tls_weaknesses: tuple[str, ...] = ()
    rtt_ms: float = 0.0


@dataclass(frozen=True)
class FindingEntry:
    """One finding of the scan as threat-service keeps it (a vulnerability record)."""

    fingerprint: str
    type: str  # vulnerable_service / misconfiguration / exposure
    subject: str  # the CVE id or the rule id
    title: str
    severity: str  # one of SEVERITIES
    host: str
    port: int
    protocol: str
    description: str = ""
    remediation: str = ""
    cvss_score: float | None = None
    cvss_vector: str = ""
    cwe: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    evidence: Mapping[str, str] = field(default_factory=dict)
    confidence: str = ""
    status: str = "open"
    kev: bool = False
    epss: float | None = None
    priority: str = ""
    service: str = ""
    first_seen: datetime | None = None

    @property
    def is_cve(self) -> bool:
        return self.type == "vulnerable_service"


@dataclass(frozen=True)
class HistoryPoint:
    """One earlier (or this) completed scan of the same targets, for the trend chart."""

    scan_id: str
    completed_at: datetime
    open_ports: int


@dataclass(frozen=True)
class ScanExport:
    """Everything an export of one scan shows; ``findings`` is None when threat-service could not say."""

    scan: ScanInfo
    ports: tuple[PortEntry, ...]
    findings: tuple[FindingEntry, ...] | None
    history: tuple[HistoryPoint, ...] = ()
    generated_at: datetime | None = None
    findings_note: str = ""  # why findings are missing, shown instead of them


@dataclass(frozen=True)
class ExportFile:
    """A rendered export: what the gateway sends back as a download."""

    filename: str
    content_type: str
    content: bytes


@dataclass(frozen=True)
class VulnerabilityFilter:
    """The list filters of GET /vulnerabilities (empty values do not filter) and the order asked."""

    severities: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    kev: bool | None = None
    cve: str = ""
    host: str = ""
    port: int = 0
    scan_id: str = ""
    type: str = ""
    first_seen_after: datetime | None = None
    first_seen_before: datetime | None = None
    sort: str = "priority"
    descending: bool = True

    def described(self) -> tuple[tuple[str, str], ...]:
        """The filters that are set, as (query parameter, value), for the cover and the JSON."""
        pairs = (
            ("severity", ",".join(self.severities)),
            ("status", ",".join(self.statuses)),
            ("kev", "" if self.kev is None else str(self.kev).lower()),
            ("cve", self.cve),
            ("host", self.host),
            ("port", str(self.port) if self.port else ""),
            ("scan_id", self.scan_id),
            ("type", self.type),
            ("first_seen_after", self.first_seen_after.isoformat() if self.first_seen_after else ""),
            ("first_seen_before", self.first_seen_before.isoformat() if self.first_seen_before else ""),
        )
        return tuple((name, value) for name, value in pairs if value)


@dataclass(frozen=True)
class VulnerabilityRecord:
    """One vulnerability record of the organisation (threat-service's ledger): the finding it is,
    with the record's own identity and lifetime."""

    finding: FindingEntry
    vulnerability_id: str
    last_seen: datetime | None = None
    first_scan_id: str = ""
    last_scan_id: str = ""
    sightings: int = 0


@dataclass(frozen=True)
class VulnerabilitySet:
    """The records one set of list filters chose, in the order asked (an export of vulnerabilities)."""

    records: tuple[VulnerabilityRecord, ...]
    filters: tuple[tuple[str, str], ...] = ()  # (name, value) as asked, for the cover and the JSON
    sort: str = "priority"
    descending: bool = True
    sandbox: bool = False  # a test key's export: test records only
    generated_at: datetime | None = None

    @property
    def findings(self) -> tuple[FindingEntry, ...]:
        return tuple(record.finding for record in self.records)
