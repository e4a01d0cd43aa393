"""Fixed example data, and a command writing one small export of each format from it:

    uv run python -m rampart_report.exports.samples docs/samples/

The findings are modelled on the rule files (threat-service findings/data/rules) and one CVE; the
fingerprints are computed the way threat-service computes them (findings/model.py).
"""

from __future__ import annotations

import hashlib
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rampart_report.exports.model import (
    CsvKind,
    ExportFormat,
    FindingEntry,
    HistoryPoint,
    PortEntry,
    ScanExport,
    ScanInfo,
    VulnerabilityRecord,
    VulnerabilitySet,
)

ORG = "org_sample"
STARTED = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def finding_fingerprint(host: str, port: int, protocol: str, subject: str, org_id: str = ORG) -> str:
    """As threat-service's findings.model.fingerprint for a live record."""
    key = "\x1f".join((org_id, "live", host, str(port), protocol, subject))
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def _finding(host: str, port: int, subject: str, **fields: object) -> FindingEntry:
    return FindingEntry(
        fingerprint=finding_fingerprint(host, port, "tcp", subject),
        subject=subject,
        host=host,
        port=port,
        protocol="tcp",
        first_seen=STARTED,
        **fields,  # type: ignore[arg-type]
    )


SCAN = ScanInfo(
    scan_id="scan_sample01",
    targets=("192.0.2.10", "192.0.2.11"),
    status="completed",
    profile="standard",
    ports="1-1024,6379",
    created_at=STARTED,
    completed_at=STARTED + timedelta(minutes=3, seconds=12),
)
PORTS = (
    PortEntry(
        "192.0.2.10",
        22,
        "tcp",
        "open",
        "ssh",
        "OpenSSH",
        "8.9p1",
        confidence=95,
        evidence="SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.10",
        rtt_ms=0.4,
    ),
    PortEntry(
        "192.0.2.10",
        443,
        "tcp",
        "open",
        "https",
        "nginx",
        "1.18.0",
        "cpe:2.3:a:f5:nginx:1.18.0:*:*:*:*:*:*:*",
        90,
        "HTTP/1.1 200 OK\r\nServer: nginx/1.18.0",
        ("TLSv1.2", "TLSv1.3"),
        ("cert:self_signed",),
        0.6,
    ),
    PortEntry("192.0.2.10", 80, "tcp", "closed", rtt_ms=0.3),
    PortEntry(
        "192.0.2.11",
        6379,
        "tcp",
        "open",
        "redis",
        "Redis",
        "6.0.5",
        confidence=90,
        evidence="+PONG",
        rtt_ms=0.5,
    ),
)
FINDINGS = (
    _finding(
        "192.0.2.11",
        6379,
        "RMP-AUTH-001",
        type="exposure",
        title="Redis answers without authentication",
        severity="high",
        cwe=("CWE-306",),
        service="redis Redis 6.0.5",
        confidence="confirmed",
        description="The server answered PING without AUTH: anyone reaching the port reads and writes data.",
        remediation="Set requirepass (or ACL users) and bind Redis to the addresses that need it.",
        references=("https://redis.io/docs/latest/operate/oss_and_stack/management/security/",),
        evidence={"redis.auth": "none", "redis.version": "6.0.5"},
    ),
    _finding(
        "192.0.2.11",
        6379,
        "CVE-2021-32675",
        type="vulnerable_service",
        title="Redis proto parsing denial of service",
        severity="high",
        cvss_score=7.5,
        cvss_vector="CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H",
        cwe=("CWE-770",),
        service="redis Redis 6.0.5",
        confidence="tentative",
        priority="attend",
        epss=0.0123,
        description="Crafted requests make Redis allocate large amounts of memory (fixed in 6.0.15).",
        remediation="Upgrade Redis to 6.0.15, 6.2.6 or later.",
        references=("https://nvd.nist.gov/vuln/detail/CVE-2021-32675",),
        evidence={"service.product": "Redis", "service.version": "6.0.5"},
    ),
    _finding(
        "192.0.2.10",
        443,
        "RMP-TLS-003",
        type="misconfiguration",
        title="TLS certificate is self-signed",
        severity="medium",
        cwe=("CWE-295",),
        service="https nginx 1.18.0",
        confidence="confirmed",
        description="The certificate is signed by its own key rather than by a CA clients trust.",
        remediation="Use a certificate from a public CA or from your organisation's internal CA.",
        references=("https://cwe.mitre.org/data/definitions/295.html",),
        evidence={"tls.cert.subject": "CN=web01", "tls.cert.issuer": "CN=web01"},
    ),
)
HISTORY = tuple(
    HistoryPoint(f"scan_sample0{index}", STARTED - timedelta(days=7 * (4 - index)), count)
    for index, count in enumerate((2, 2, 4, 3), start=1)
)


def sample_export() -> ScanExport:
    """A small scan of two hosts: four ports, three findings, a four-scan history."""
    return ScanExport(SCAN, PORTS, FINDINGS, HISTORY, STARTED + timedelta(minutes=5))


def large_export(findings: int) -> ScanExport:
    """``findings`` findings over 50 hosts with six open ports each (for the benchmark)."""
    base = sample_export()
    templates = FINDINGS
    hosts = [f"198.51.100.{index}" for index in range(1, 51)]
    ports: list[PortEntry] = []
    made: list[FindingEntry] = []
    for host in hosts:
        ports.extend(replace(port, host=host, port=port.port + step) for step in range(2) for port in PORTS)
    for index in range(findings):
        template = templates[index % len(templates)]
        host, port = hosts[index % len(hosts)], 1000 + index // len(hosts)
        subject = template.subject if template.is_cve else f"{template.subject[:-3]}{index % 40:03d}"
        made.append(
            replace(
                template,
                host=host,
                port=port,
                subject=subject,
                fingerprint=finding_fingerprint(host, port, "tcp", subject),
            )
        )
    return replace(base, ports=tuple(ports), findings=tuple(made))


def as_records(
    findings: tuple[FindingEntry, ...], scan_id: str = "scan_sample04"
) -> tuple[VulnerabilityRecord, ...]:
    """The findings as the organisation's vulnerability records (ids derived from the fingerprints)."""
    return tuple(
        VulnerabilityRecord(
            finding=replace(finding, first_seen=finding.first_seen or STARTED),
            vulnerability_id=f"vuln_{finding.fingerprint}",
            last_seen=STARTED + timedelta(minutes=4),
            first_scan_id=scan_id,
            last_scan_id=scan_id,
            sightings=1,
        )
        for finding in findings
    )


def sample_vulnerabilities() -> VulnerabilitySet:
    """The sample scan's three findings as records, chosen with two filters, most urgent first."""
    return VulnerabilitySet(
        records=as_records(FINDINGS),
        filters=(("status", "open,reopened"), ("severity", "high,medium")),
        generated_at=STARTED + timedelta(minutes=5),
    )


def large_vulnerabilities(records: int) -> VulnerabilitySet:
    """``records`` records over 50 hosts (as ``large_export``'s findings), for the benchmark."""
    return replace(sample_vulnerabilities(), records=as_records(large_export(records).findings or ()))


def write_samples(directory: Path) -> list[Path]:
    from rampart_report.exports.service import render, render_vulnerabilities  # jinja2 / weasyprint

    directory.mkdir(parents=True, exist_ok=True)
    data, written = sample_export(), []
    for fmt in ExportFormat:
        kinds = (CsvKind.PORTS, CsvKind.FINDINGS) if fmt is ExportFormat.CSV else (CsvKind.PORTS,)
        for kind in kinds:
            file = render(data, fmt, kind)
            path = directory / file.filename
            path.write_bytes(file.content)
            written.append(path)
    records = sample_vulnerabilities()
    for fmt in ExportFormat:
        file = render_vulnerabilities(records, fmt)
        path = directory / file.filename
        path.write_bytes(file.content)
        written.append(path)
    return written


def main(argv: list[str]) -> None:
    for path in write_samples(Path(argv[0] if argv else "docs/samples")):
        print(path)


if __name__ == "__main__":
    main(sys.argv[1:])
