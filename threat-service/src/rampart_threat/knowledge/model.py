"""Typed, immutable vulnerability knowledge: one CVE as NVD, the CVE list, KEV and EPSS describe it.

Dates and timestamps are kept as the ISO 8601 strings the feeds write (NVD ``2024-07-01T13:15:10.280``,
CVE 5 ``2024-07-23T14:34:09.750Z``, KEV ``2021-11-03``, EPSS ``2026-09-29``): they order correctly as
strings within one source and survive a round trip through the store unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Origin(StrEnum):
    """Which container a fact came from."""

    NVD = "nvd"
    CNA = "cna"
    ADP = "adp"


@dataclass(frozen=True, slots=True)
class Description:
    lang: str
    value: str


@dataclass(frozen=True, slots=True)
class CvssMetric:
    """One CVSS score; ``version`` is "4.0", "3.1", "3.0" or "2.0"."""

    version: str
    vector: str
    base_score: float
    base_severity: str
    source: str  # NVD's source e-mail/UUID, or the CNA/ADP short name
    type: str  # "Primary" or "Secondary" (NVD); CVE 5 metrics are "Secondary" unless NVD says otherwise
    origin: Origin = Origin.NVD


@dataclass(frozen=True, slots=True)
class Weakness:
    cwe_id: str  # "CWE-362", or NVD's "NVD-CWE-noinfo" / "NVD-CWE-Other"
    source: str
    type: str = "Primary"
    origin: Origin = Origin.NVD


@dataclass(frozen=True, slots=True)
class CpeMatch:
    """One NVD ``cpeMatch`` entry."""

    vulnerable: bool
    criteria: str
    version_start_including: str | None = None
    version_start_excluding: str | None = None
    version_end_including: str | None = None
    version_end_excluding: str | None = None
    match_criteria_id: str | None = None

    @property
    def has_range(self) -> bool:
        return any(
            v is not None
            for v in (
                self.version_start_including,
                self.version_start_excluding,
                self.version_end_including,
                self.version_end_excluding,
            )
        )


@dataclass(frozen=True, slots=True)
class ConfigNode:
    operator: str  # "OR" or "AND"
    negate: bool
    cpe_match: tuple[CpeMatch, ...]


@dataclass(frozen=True, slots=True)
class Configuration:
    """One NVD configuration: its nodes combined by ``operator`` (absent means OR)."""

    nodes: tuple[ConfigNode, ...]
    operator: str | None = None
    negate: bool = False


@dataclass(frozen=True, slots=True)
class Reference:
    url: str
    source: str = ""
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class VersionChange:
    at: str
    status: str


@dataclass(frozen=True, slots=True)
class AffectedVersion:
    """One CVE 5 ``versions[]`` entry (``version`` may be a word, a range in text, or "n/a")."""

    version: str
    status: str  # "affected" / "unaffected" / "unknown"
    version_type: str | None = None
    less_than: str | None = None
    less_than_or_equal: str | None = None
    changes: tuple[VersionChange, ...] = ()


@dataclass(frozen=True, slots=True)
class Affected:
    """One CVE 5 ``affected[]`` product, from the CNA or an ADP container."""

    origin: Origin
    provider: str  # the container's providerMetadata.shortName
    vendor: str
    product: str
    default_status: str | None = None
    versions: tuple[AffectedVersion, ...] = ()
    cpes: tuple[str, ...] = ()
    package_name: str | None = None
    collection_url: str | None = None


@dataclass(frozen=True, slots=True)
class Ssvc:
    """A CISA-ADP SSVC decision (``options`` of the vulnrichment ``other`` metric)."""

    exploitation: str | None  # "none" / "poc" / "active"
    automatable: str | None  # "yes" / "no"
    technical_impact: str | None  # "partial" / "total"
    provider: str = "CISA-ADP"
    timestamp: str | None = None
    version: str | None = None


@dataclass(frozen=True, slots=True)
class KevEntry:
    """A CISA Known Exploited Vulnerabilities catalogue entry."""

    cve_id: str
    date_added: str
    due_date: str | None = None
    known_ransomware_campaign_use: str = "Unknown"  # "Known" / "Unknown"
    vendor_project: str = ""
    product: str = ""
    vulnerability_name: str = ""
    required_action: str = ""
    notes: str = ""
    cwes: tuple[str, ...] = ()
    catalog_version: str | None = None


@dataclass(frozen=True, slots=True)
class EpssScore:
    """A FIRST EPSS probability for one CVE on one score date."""

    cve_id: str
    score: float
    percentile: float
    date: str  # score_date from the file's header line, date part
    model_version: str | None = None


@dataclass(frozen=True, slots=True)
class SourceRef:
    """Where one part of a record came from (filled in by the importers)."""

    source: str  # "nvd" / "cve5" / "kev" / "epss" / "starter"
    location: str = ""  # file name or URL the operator imported
    digest: str = ""  # sha256 of that file
    snapshot: str = ""  # the feed's own date (lastModified, catalogVersion, score_date...)


@dataclass(frozen=True, slots=True)
class Cve5Record:
    """What the matcher needs from one CVE JSON 5 record: affected data, ADP scores, CWE, SSVC."""

    cve_id: str
    assigner: str
    state: str
    date_updated: str | None
    descriptions: tuple[Description, ...] = ()
    affected: tuple[Affected, ...] = ()
    metrics: tuple[CvssMetric, ...] = ()
    weaknesses: tuple[Weakness, ...] = ()
    ssvc: tuple[Ssvc, ...] = ()
    references: tuple[Reference, ...] = ()


@dataclass(frozen=True, slots=True)
class CveRecord:
    """One CVE as the knowledge base holds it: NVD's analysis merged with the CVE list, KEV and EPSS."""

    id: str
    published: str | None = None
    last_modified: str | None = None
    vuln_status: str | None = None  # NVD's "Analyzed", "Awaiting Analysis", ...
    source_identifier: str | None = None
    descriptions: tuple[Description, ...] = ()
    metrics: tuple[CvssMetric, ...] = ()
    weaknesses: tuple[Weakness, ...] = ()
    configurations: tuple[Configuration, ...] = ()
    references: tuple[Reference, ...] = ()
    affected: tuple[Affected, ...] = ()
    ssvc: tuple[Ssvc, ...] = ()
    kev: KevEntry | None = None
    epss: EpssScore | None = None
    cve5_assigner: str | None = None
    cve5_updated: str | None = None
    provenance: tuple[SourceRef, ...] = field(default=())

    def description(self, lang: str = "en") -> str:
        """The first description in ``lang`` (NVD's, else the CNA's), or ""."""
        for d in self.descriptions:
            if d.lang.lower().startswith(lang):
                return d.value
        return self.descriptions[0].value if self.descriptions else ""
