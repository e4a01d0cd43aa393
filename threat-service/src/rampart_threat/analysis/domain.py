"""Analysis domain: indicator kinds, verdicts, reasons with evidence, and the stored analysis."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime

from rampart.lib.errors import InvalidArgument, NotFound, RampartError


class InvalidIndicator(InvalidArgument):
    """The target is not a well-formed indicator of the requested (or any) type."""

    public_code = "INVALID_INDICATOR"


class AnalysisNotFound(NotFound):
    """No such analysis (or it belongs to another organisation)."""


class IndicatorTooLarge(RampartError):
    """The target is larger than the mode accepts."""

    public_code = "PAYLOAD_TOO_LARGE"


class AnalysisBudgetExceeded(RampartError):
    """The analysis did not finish within its mode's time or memory budget."""

    public_code = "ANALYSIS_BUDGET_EXCEEDED"


class Kind(enum.Enum):
    """The broad indicator type a caller may name; ``Analysis.subtype`` is the precise one."""

    URL = "url"
    DOMAIN = "domain"
    IP = "ip"
    HASH = "hash"
    PAYLOAD = "payload"


class Mode(enum.Enum):
    QUICK = "quick"
    DEEP = "deep"
    SANDBOX = "sandbox"


class Verdict(enum.Enum):
    BENIGN = "benign"
    SUSPICIOUS = "suspicious"
    MALICIOUS = "malicious"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Reason:
    """One signal: the points it adds to the risk score and the evidence that raised it."""

    signal: str
    weight: int
    evidence: str
    attack: tuple[str, ...] = ()


@dataclass(frozen=True)
class Extracted:
    """An indicator found inside the analysed one (a URL in a decoded payload, say)."""

    type: str
    value: str
    defanged: str
    where: str


@dataclass(frozen=True)
class FeedHit:
    """The indicator (or a part of it) listed by a feed the operator imported."""

    source: str
    kind: str
    value: str
    threat: str = ""
    first_seen: datetime | None = None
    imported_at: datetime | None = None


@dataclass(frozen=True)
class AssetMatch:
    """A host of the organisation's own scan inventory that the indicator (or a part of it) names.

    Context, not maliciousness: it tells the analyst the indicator is one of their own systems.
    """

    asset_id: str
    host: str
    open_ports: tuple[int, ...]
    last_scan_id: str
    last_seen: datetime | None
    matched: str = ""  # the indicator value that named the host
    role: str = ""  # the target, its registrable domain, found in a payload...


@dataclass(frozen=True)
class Target:
    """A detected and normalised indicator, ready for its analyzer."""

    kind: Kind
    subtype: str  # url, domain, ipv4, ipv6, md5, sha1, sha256, payload
    raw: str
    normalized: str


@dataclass
class Findings:
    """What the analyzers found, before scoring."""

    reasons: list[Reason] = field(default_factory=list)
    extracted: list[Extracted] = field(default_factory=list)
    feed_hits: list[FeedHit] = field(default_factory=list)
    limits: list[str] = field(default_factory=list)
    benign_evidence: bool = False  # something positively known-good (e.g. a reserved address)

    def add(self, signal: str, weight: int, evidence: str, *attack: str) -> None:
        self.reasons.append(Reason(signal, weight, evidence, tuple(attack)))

    def merge(self, other: Findings) -> None:
        self.reasons.extend(other.reasons)
        self.extracted.extend(other.extracted)
        self.feed_hits.extend(other.feed_hits)
        self.limits.extend(other.limits)
        self.benign_evidence = self.benign_evidence or other.benign_evidence


@dataclass(frozen=True)
class Verdicts:
    """The score and what it means."""

    risk_score: int
    verdict: Verdict
    confidence: float
    recommended_actions: tuple[str, ...]


@dataclass(frozen=True)
class Analysis:
    """One stored analysis, owned by an organisation."""

    analysis_id: str
    org_id: str
    user_id: str
    target: Target
    mode: Mode
    risk_score: int
    verdict: Verdict
    confidence: float
    reasons: tuple[Reason, ...]
    recommended_actions: tuple[str, ...]
    extracted: tuple[Extracted, ...]
    feed_hits: tuple[FeedHit, ...]
    limits: tuple[str, ...]
    metadata: dict[str, str]
    analyzed_at: datetime
    duration_us: int
    asset_matches: tuple[AssetMatch, ...] = ()

    def attack(self) -> list[str]:
        """Every ATT&CK technique id of the reasons, once, in order."""
        return list(dict.fromkeys(t for reason in self.reasons for t in reason.attack))
