"""Findings to feed the ledger, its in-memory store, a settable clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from rampart_threat.findings.memory import InMemoryVulnerabilityRepository
from rampart_threat.findings.model import Finding, FindingType, Severity

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
FakeVulnerabilities = InMemoryVulnerabilityRepository


class Clock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@dataclass(frozen=True)
class Scan:
    """A scan of the tests: its id, owner and the time its findings are detected."""

    scan_id: str
    at: datetime = T0
    org_id: str = "org_a"
    live: bool = True

    def finding(
        self,
        subject: str = "CVE-2023-38408",
        host: str = "10.0.0.5",
        port: int = 22,
        severity: Severity = Severity.CRITICAL,
        **extra: object,
    ) -> Finding:
        kind = FindingType.VULNERABLE_SERVICE if subject.startswith("CVE-") else FindingType.MISCONFIGURATION
        fields: dict[str, object] = {
            "org_id": self.org_id,
            "scan_id": self.scan_id,
            "live": self.live,
            "host": host,
            "port": port,
            "protocol": "tcp",
            "type": kind,
            "subject": subject,
            "title": f"{subject} on {host}:{port}",
            "severity": severity,
            "detected_at": self.at,
            "cvss_score": 9.8 if kind is FindingType.VULNERABLE_SERVICE else None,
            "evidence": {"scan": self.scan_id},
        }
        fields.update(extra)
        return Finding(**fields)  # type: ignore[arg-type]
