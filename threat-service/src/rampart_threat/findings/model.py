"""The finding as every part of threat-service sees it: produced by the rules and the knowledge
matcher, kept (de-duplicated by fingerprint) by the vulnerability store, announced on the scan's
stream. The fingerprint is the record's identity: the same problem on the same asset and port is
one record however many scans see it."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class FindingType(StrEnum):
    VULNERABLE_SERVICE = "vulnerable_service"  # a CVE the knowledge base says applies
    MISCONFIGURATION = "misconfiguration"  # a rule: something set up unsafely (TLS, SSH, HTTP headers)
    EXPOSURE = "exposure"  # a rule: something reachable that should not be (no auth, clear text)


class Severity(StrEnum):
    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class Confidence(StrEnum):
    CONFIRMED = "confirmed"  # the observation itself shows it (a rule), or an exact NVD match
    TENTATIVE = "tentative"  # version-based on a distribution build (fix may be backported), CVE 5 ranges
    CONDITIONAL = "conditional"  # needs a platform the scan could not see (NVD "running on")


def fingerprint(org_id: str, live: bool, host: str, port: int, protocol: str, subject: str) -> str:
    """The finding's identity: organisation (and live or test), asset (normalised host), port/protocol,
    rule id or CVE id."""
    key = "\x1f".join((org_id, "live" if live else "test", host, str(port), protocol, subject))
    return hashlib.sha256(key.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Finding:
    """One problem seen on one service by one scan."""

    org_id: str
    scan_id: str
    live: bool  # False for test-key (sandbox) scans: live and test records never mix
    host: str  # the address as the scan reports it
    port: int
    protocol: str  # "tcp" / "udp"
    type: FindingType
    subject: str  # the CVE id (vulnerable_service) or the rule id (misconfiguration / exposure)
    title: str
    severity: Severity
    detected_at: datetime
    description: str = ""
    remediation: str = ""
    cvss_score: float | None = None
    cvss_vector: str = ""
    cwe: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    evidence: Mapping[str, str] = field(default_factory=dict)  # what was observed, size-capped
    confidence: Confidence = Confidence.CONFIRMED
    kev: bool = False
    epss: float | None = None
    priority: str = ""  # SSVC-style: act / attend / track* / track (docs/knowledge.md)
    service: str = ""  # service name, product and version as detected
    cpe: str = ""

    @property
    def cve(self) -> str:
        return self.subject if self.type is FindingType.VULNERABLE_SERVICE else ""

    @property
    def rule_id(self) -> str:
        return "" if self.type is FindingType.VULNERABLE_SERVICE else self.subject

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.org_id, self.live, self.host, self.port, self.protocol, self.subject)
