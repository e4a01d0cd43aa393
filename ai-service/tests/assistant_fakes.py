"""In-memory owning services for the assistant's tests: every object belongs to one organisation.

They behave as scan-service and threat-service do for the assistant: an object of another
organisation is not found, listings return only the caller's own objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import cache

from rampart_ai.accounting import Entry
from rampart_ai.accounting import Owner as HistoryOwner
from rampart_ai.domain import (
    Caller,
    CveFact,
    CveVerdict,
    IncidentFact,
    IncidentNotFound,
    PortFact,
    ScanFacts,
    ScanNotFound,
    TlsFacts,
    VulnerabilityNotFound,
    VulnFact,
)
from rampart_ai.knowledge.base import load
from rampart_ai.knowledge.library import Library
from rampart_ai.ports import SourceUnavailable
from rampart_ai.service import AssistantService

ALICE = Caller("user_alice", "org_alice")
BOB = Caller("user_bob", "org_bob")
T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


@cache
def library() -> Library:
    return Library(load())


def port(
    scan_id: str,
    host: str,
    number: int,
    service: str = "",
    product: str = "",
    version: str = "",
    **more: object,
) -> PortFact:
    facts = more.pop("facts", {})
    assert isinstance(facts, dict)
    return PortFact(
        scan_id,
        host,
        number,
        "tcp",
        str(more.pop("state", "open")),
        service,
        product,
        version,
        str(more.pop("cpe", "")),
        str(more.pop("banner", "")),
        tuple(sorted(facts.items())),
        more.pop("tls", None),  # type: ignore[arg-type]
    )


def scan(
    scan_id: str,
    targets: tuple[str, ...],
    ports: tuple[PortFact, ...],
    *,
    days: int = 0,
    status: str = "completed",
) -> ScanFacts:
    open_count = sum(1 for p in ports if p.state == "open")
    return ScanFacts(
        scan_id,
        targets,
        status,
        T0 + timedelta(days=days),
        T0 + timedelta(days=days, minutes=5),
        ports=ports,
        hosts=tuple(dict.fromkeys(p.host for p in ports)),
        counts=(open_count, 0, 3),
    )


@dataclass
class FakeScans:
    scans: dict[str, tuple[str, ScanFacts]] = field(default_factory=dict)  # scan_id -> (org, scan)

    def add(self, org: str, facts: ScanFacts) -> ScanFacts:
        self.scans[facts.scan_id] = (org, facts)
        return facts

    async def get(self, caller: Caller, scan_id: str) -> ScanFacts:
        org, facts = self.scans.get(scan_id, ("", None))  # type: ignore[assignment]
        if facts is None or org != caller.org_id:
            raise ScanNotFound("scan not found", scan_id=scan_id)
        return facts

    async def recent(self, caller: Caller, target: str = "", limit: int = 10) -> list[ScanFacts]:
        mine = [
            s
            for org, s in self.scans.values()
            if org == caller.org_id and (not target or target in s.targets)
        ]
        mine.sort(key=lambda s: s.created_at or T0, reverse=True)
        return [replace(s, ports=()) for s in mine[:limit]]


@dataclass
class FakeFindings:
    vulns: dict[str, tuple[str, VulnFact]] = field(default_factory=dict)
    down: bool = False

    def add(self, org: str, vuln: VulnFact) -> VulnFact:
        self.vulns[vuln.vulnerability_id] = (org, vuln)
        return vuln

    def _check(self) -> None:
        if self.down:
            raise SourceUnavailable("threat-service ListVulnerabilities (unimplemented)")

    async def for_scan(self, caller: Caller, scan_id: str) -> list[VulnFact]:
        self._check()
        return [v for org, v in self.vulns.values() if org == caller.org_id and v.scan_id == scan_id]

    async def for_host(self, caller: Caller, host: str) -> list[VulnFact]:
        self._check()
        return [v for org, v in self.vulns.values() if org == caller.org_id and v.host == host]

    async def get(self, caller: Caller, vulnerability_id: str) -> VulnFact:
        self._check()
        org, vuln = self.vulns.get(vulnerability_id, ("", None))  # type: ignore[assignment]
        if vuln is None or org != caller.org_id:
            raise VulnerabilityNotFound("vulnerability not found", vulnerability_id=vulnerability_id)
        return vuln


@dataclass
class FakeThreats:
    incidents: dict[str, tuple[str, IncidentFact]] = field(default_factory=dict)
    catalogue: dict[str, CveFact] = field(default_factory=dict)
    # (product, version) -> {cve: (verdict, reason)}
    affected: dict[tuple[str, str], dict[str, tuple[str, str]]] = field(default_factory=dict)
    matched: list[tuple[str, str]] = field(default_factory=list)  # (org, endpoint) of each match call

    async def incident(self, caller: Caller, incident_id: str) -> IncidentFact:
        org, found = self.incidents.get(incident_id, ("", None))  # type: ignore[assignment]
        if found is None or org != caller.org_id:
            raise IncidentNotFound("incident not found", incident_id=incident_id)
        return found

    async def cve(self, caller: Caller, cve_id: str) -> CveFact | None:
        return self.catalogue.get(cve_id)

    async def match(self, caller: Caller, port: PortFact, cve_id: str) -> CveVerdict:
        self.matched.append((caller.org_id, port.endpoint))
        verdict, reason = self.affected.get((port.product, port.version), {}).get(cve_id, ("not_listed", ""))
        return CveVerdict(port, cve_id, verdict, reason, "high" if verdict == "affected" else "")


@dataclass
class World:
    scans: FakeScans
    findings: FakeFindings
    threats: FakeThreats
    assistant: AssistantService


def world() -> World:
    """Alice's two scans of 10.0.0.0/29 (a week apart) with findings, and Bob's own scan."""
    scans, findings, threats = FakeScans(), FakeFindings(), FakeThreats()
    old = scans.add(
        "org_alice",
        scan(
            "scan_alice_old",
            ("10.0.0.0/29",),
            (
                port("scan_alice_old", "10.0.0.5", 22, "ssh", "OpenSSH", "8.9p1"),
                port("scan_alice_old", "10.0.0.5", 80, "http", "nginx", "1.18.0"),
                port(
                    "scan_alice_old",
                    "10.0.0.6",
                    21,
                    "ftp",
                    "vsftpd",
                    "3.0.3",
                    facts={"ftp.auth_tls": "false"},
                ),
            ),
            days=0,
        ),
    )
    assert old.scan_id
    tls = TlsFacts(protocols=("TLSv1.0", "TLSv1.2"), negotiated_protocol="TLSv1.2", self_signed=True)
    scans.add(
        "org_alice",
        scan(
            "scan_alice_new",
            ("10.0.0.0/29",),
            (
                port(
                    "scan_alice_new",
                    "10.0.0.5",
                    22,
                    "ssh",
                    "OpenSSH",
                    "9.3p1",
                    facts={"ssh.kex": "curve25519-sha256,diffie-hellman-group1-sha1"},
                ),
                port("scan_alice_new", "10.0.0.5", 80, "http", "nginx", "1.18.0"),
                port("scan_alice_new", "10.0.0.5", 443, "https", "nginx", "1.18.0", tls=tls),
                port(
                    "scan_alice_new",
                    "10.0.0.7",
                    6379,
                    "redis",
                    "Redis",
                    "7.0.11",
                    facts={"redis.auth": "none"},
                ),
                port("scan_alice_new", "10.0.0.7", 5432, "postgresql", state="filtered"),
            ),
            days=7,
        ),
    )
    scans.add("org_alice", scan("scan_alice_running", ("192.168.9.9",), (), days=8, status="running"))
    scans.add(
        "org_bob",
        scan(
            "scan_bob_1",
            ("172.16.0.0/30",),
            (
                port("scan_bob_1", "172.16.0.2", 3389, "rdp", "Microsoft Terminal Services"),
                port(
                    "scan_bob_1",
                    "172.16.0.2",
                    27017,
                    "mongodb",
                    "MongoDB",
                    "4.4.0",
                    facts={"mongodb.auth": "none"},
                ),
            ),
            days=3,
        ),
    )
    findings.add(
        "org_alice",
        VulnFact(
            "vuln_redis_open",
            "Redis answers without authentication",
            "critical",
            "scan_alice_new",
            "10.0.0.7",
            6379,
            "Anyone who reaches the port can read and write the data.",
            remediation="Require AUTH and bind to loopback.",
            cwe=("CWE-306",),
            rule_id="RMP-REDIS-001",
        ),
    )
    findings.add(
        "org_alice",
        VulnFact(
            "vuln_tls10",
            "TLS 1.0 accepted",
            "medium",
            "scan_alice_new",
            "10.0.0.5",
            443,
            remediation="Disable TLS 1.0 and 1.1.",
            cwe=("CWE-327",),
            rule_id="RMP-TLS-001",
        ),
    )
    findings.add(
        "org_alice",
        VulnFact(
            "vuln_terrapin",
            "SSH prefix truncation (Terrapin)",
            "medium",
            "scan_alice_new",
            "10.0.0.5",
            22,
            cve="CVE-2023-48795",
            cvss=5.9,
            kev=False,
            epss=0.6,
            remediation="Upgrade OpenSSH to 9.6 or later.",
        ),
    )
    findings.add(
        "org_alice",
        VulnFact(
            "vuln_fixed",
            "Old nginx banner",
            "low",
            "scan_alice_new",
            "10.0.0.5",
            80,
            state="resolved",
        ),
    )
    findings.add(
        "org_bob",
        VulnFact(
            "vuln_bob_mongo",
            "MongoDB without authentication",
            "critical",
            "scan_bob_1",
            "172.16.0.2",
            27017,
            remediation="Enable authorization.",
            cwe=("CWE-306",),
        ),
    )
    threats.incidents["inc_alice_1"] = (
        "org_alice",
        IncidentFact(
            "inc_alice_1",
            "Redis exposed",
            "high",
            "investigating",
            affected_systems=("10.0.0.7",),
            related_findings=("vuln_redis_open", "vuln_bob_mongo"),
            priority="P2",
            next_steps=("Restrict 6379 to the app network",),
        ),
    )
    threats.incidents["inc_bob_1"] = ("org_bob", IncidentFact("inc_bob_1", "Bob's RDP", "high", "open"))
    threats.catalogue["CVE-2023-48795"] = CveFact(
        "CVE-2023-48795",
        "The SSH transport protocol with certain OpenSSH extensions allows prefix truncation (Terrapin).",
        5.9,
        "medium",
        epss=0.6,
    )
    threats.affected[("OpenSSH", "9.3p1")] = {"CVE-2023-48795": ("affected", "9.3p1 is before 9.6")}
    assistant = AssistantService(scans, findings, threats, library())
    return World(scans, findings, threats, assistant)


class MemoryAccounts:
    """The ledger and the history in memory, with the store's semantics (conditional claims)."""

    def __init__(self) -> None:
        self.days: dict[str, dict[str, int]] = {}
        self.entries: dict[str, Entry] = {}

    def _day(self, org_id: str, day: str) -> dict[str, int]:
        return self.days.setdefault(f"{org_id}|{day}", {"requests": 0, "tokens": 0})

    async def claim_request(self, org_id: str, day: str, limit: int) -> bool:
        counts = self._day(org_id, day)
        if limit > 0 and counts["requests"] >= limit:
            return False
        counts["requests"] += 1
        return True

    async def release_request(self, org_id: str, day: str) -> None:
        counts = self._day(org_id, day)
        counts["requests"] = max(0, counts["requests"] - 1)

    async def claim_tokens(self, org_id: str, day: str, amount: int, limit: int) -> bool:
        counts = self._day(org_id, day)
        if limit > 0 and counts["tokens"] + amount > limit:
            return False
        counts["tokens"] += amount
        return True

    async def add_tokens(self, org_id: str, day: str, amount: int) -> None:
        self._day(org_id, day)["tokens"] += amount

    async def used(self, org_id: str, day: str) -> tuple[int, int]:
        counts = self._day(org_id, day)
        return counts["requests"], counts["tokens"]

    def _mine(self, owner: HistoryOwner, since_key: int) -> list[Entry]:
        found = [e for e in self.entries.values() if e.owner == owner and e.sort_key >= since_key]
        return sorted(found, key=lambda e: e.sort_key, reverse=True)

    async def add(self, entry: Entry) -> None:
        self.entries[entry.history_id] = entry

    async def page(
        self, owner: HistoryOwner, since_key: int, before_key: int | None, limit: int
    ) -> list[Entry]:
        found = self._mine(owner, since_key)
        return [e for e in found if before_key is None or e.sort_key < before_key][:limit]

    async def get(self, owner: HistoryOwner, history_id: str, since_key: int) -> Entry | None:
        return next((e for e in self._mine(owner, since_key) if e.history_id == history_id), None)

    async def count(self, owner: HistoryOwner, since_key: int) -> int:
        return len(self._mine(owner, since_key))

    async def sweep(self, before_key: int) -> int:
        old = [k for k, e in self.entries.items() if e.sort_key < before_key]
        for k in old:
            del self.entries[k]
        return len(old)
