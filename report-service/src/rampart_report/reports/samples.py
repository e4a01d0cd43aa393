"""A diff report of fixed example data in each format, written by:

    uv run python -m rampart_report.reports.samples docs/samples/

Two scans of the exports' sample hosts (``exports/samples.py``) a week apart: a port opened, one
closed, nginx upgraded, a certificate replaced and expiring soon, a finding new, one reopened,
one resolved.
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from rampart_report.exports.samples import FINDINGS, SCAN, STARTED
from rampart_report.reports.diff import (
    Certificate,
    CertificateChange,
    CertificateExpiry,
    Diff,
    PortChange,
    ResultsDiff,
    Service,
    ServiceChange,
    findings_diff,
)
from rampart_report.reports.model import Report, ReportFormat, ReportRequest, ReportType, Tenant, checked

NAME = "diff-report-sample"
BEFORE = replace(
    SCAN,
    scan_id="scan_sample00",
    created_at=STARTED - timedelta(days=7),
    completed_at=STARTED - timedelta(days=7) + timedelta(minutes=3),
)
OLD_CERT = Certificate("CN=www.example.test", "CN=Example CA", STARTED + timedelta(days=200), "RSA 2048")
NEW_CERT = Certificate("CN=www.example.test", "CN=Example CA R2", STARTED + timedelta(days=12), "EC 256")
REOPENED = replace(
    FINDINGS[0],
    fingerprint="0" * 32,
    subject="RMP-SSH-002",
    title="SSH server offers CBC ciphers",
    host="192.0.2.10",
    port=22,
    severity="low",
    status="reopened",
)


def sample_diff() -> Diff:
    results = ResultsDiff(
        SCAN,
        BEFORE,
        ports_opened=(PortChange("192.0.2.11", 6379, "tcp", Service("redis", "Redis", "6.0.5")),),
        ports_closed=(PortChange("192.0.2.10", 8080, "tcp", Service("http", "Jetty", "9.4.43")),),
        services_changed=(
            ServiceChange(
                "192.0.2.10",
                443,
                "tcp",
                Service("https", "nginx", "1.16.1"),
                Service("https", "nginx", "1.18.0"),
            ),
        ),
        certificates_changed=(CertificateChange("192.0.2.10", 443, "tcp", OLD_CERT, NEW_CERT),),
        certificates_expiring=(CertificateExpiry("192.0.2.10", 443, "tcp", NEW_CERT, 12),),
    )
    before = (
        FINDINGS[2],
        replace(
            FINDINGS[2],
            fingerprint="1" * 32,
            subject="RMP-HTTP-004",
            title="Directory listing enabled",
            port=8080,
            severity="medium",
        ),
    )
    after = (*FINDINGS, REOPENED)
    return Diff(results, findings_diff(before, after))


def sample_report(fmt: ReportFormat) -> Report:
    request = checked(ReportRequest(ReportType.DIFF, fmt, (SCAN.scan_id, BEFORE.scan_id)))
    return Report("rep_sample", Tenant("org_sample"), request, STARTED, STARTED + timedelta(days=7))


async def rendered_samples() -> dict[str, bytes]:
    from rampart_report.reports.rendering import render_diff  # jinja2 / weasyprint

    diff, at = sample_diff(), STARTED + timedelta(minutes=5)
    return {f"{NAME}.{fmt.value}": await render_diff(sample_report(fmt), diff, at) for fmt in ReportFormat}


def write_samples(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, content in asyncio.run(rendered_samples()).items():
        path = directory / name
        path.write_bytes(content)
        written.append(path)
    return written


def main(argv: list[str]) -> None:
    for path in write_samples(Path(argv[0] if argv else "docs/samples")):
        print(path)


if __name__ == "__main__":
    main(sys.argv[1:])
