"""Compliance posture benchmark: an organisation with 10,000 assets and 100,000 open findings.

Measured (in memory, no I/O; the budget of issue 14 is under 2 s):
1. ``posture.compute``: every framework's control statuses, gaps, exclusions and freshness;
2. ``ComplianceService.posture``: the same plus change detection against the previous snapshot,
   the change records and events, and the day's snapshot (in-memory repository);
3. the reply: encoding the posture as the CompliancePosture protobuf message and serialising it.

Not measured: reading the 100,000 records from threat-service (1,000 ListVulnerabilities pages of
100) and the scans from scan-service. COMPLIANCE_BENCH_FINDINGS / COMPLIANCE_BENCH_ASSETS change the
sizes. Figures are printed; nothing is asserted.
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "report-service" / "tests"))

from compliance_fakes import FakeComplianceRepository, FakeScanner, FakeSources, RecordingEvents  # noqa: E402

from rampart_report.compliance.catalogue import default_rules_dir, known_rule_ids, load_catalogue  # noqa: E402
from rampart_report.compliance.domain import FindingRecord, FindingStatus, ScanRecord, Tenant  # noqa: E402
from rampart_report.compliance.mappers import posture_message  # noqa: E402
from rampart_report.compliance.posture import compute  # noqa: E402
from rampart_report.compliance.service import ComplianceService  # noqa: E402

NOW = datetime(2026, 3, 1, tzinfo=UTC)
TENANT = Tenant("org_bench", "live", "usr_bench")
CWES = ("CWE-79", "CWE-89", "CWE-787", "CWE-20", "CWE-327", "CWE-319", "CWE-306", "CWE-400", "CWE-22")
SEVERITIES = ("low", "medium", "medium", "high", "critical")


def dataset(assets: int, findings: int) -> tuple[list[FindingRecord], list[ScanRecord]]:
    rng = random.Random(14)
    rules = sorted(known_rule_ids(default_rules_dir()))
    hosts = [f"10.{i // 65536}.{(i // 256) % 256}.{i % 256}" for i in range(assets)]
    records: list[FindingRecord] = []
    for i in range(findings):
        status = FindingStatus.OPEN
        roll = rng.random()
        if roll < 0.05:
            status = FindingStatus.FALSE_POSITIVE
        elif roll < 0.08:
            status = FindingStatus.ACCEPTED_RISK
        if i % 3 == 0:  # a CVE on a service
            kind, rule, cve, cwes = (
                "vulnerable_service",
                "",
                f"CVE-2025-{10000 + i % 5000}",
                (rng.choice(CWES),),
            )
        else:
            kind, rule, cve, cwes = rng.choice(("misconfiguration", "exposure")), rng.choice(rules), "", ()
        records.append(
            FindingRecord(
                f"vuln_{i:06d}",
                hosts[i % assets],
                rng.choice((22, 80, 443, 6379, 8443)),
                kind,
                rng.choice(SEVERITIES),
                status,
                title=f"finding {i}",
                rule_id=rule,
                cve=cve,
                cwes=cwes,
                remediation="fix it",
                accepted_until=NOW + timedelta(days=30) if status is FindingStatus.ACCEPTED_RISK else None,
                last_seen=NOW - timedelta(days=rng.randint(0, 60)),
            )
        )
    scans = [
        ScanRecord(
            f"scan_{j}", tuple(hosts[j * 50 : (j + 1) * 50]), "completed", NOW - timedelta(days=j % 120)
        )
        for j in range(-(-assets // 50))
    ]
    return records, scans


def timed(label: str, runs: int, action: Callable[[], object]) -> None:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    print(
        f"  {label:<52} median {statistics.median(samples) * 1000:8.1f} ms"
        f"   max {max(samples) * 1000:8.1f} ms"
    )


def main() -> None:
    findings_n = int(os.environ.get("COMPLIANCE_BENCH_FINDINGS", "100000"))
    assets_n = int(os.environ.get("COMPLIANCE_BENCH_ASSETS", "10000"))
    catalogue = load_catalogue()
    controls = sum(len(f.controls) for f in catalogue.frameworks)
    findings, scans = dataset(assets_n, findings_n)
    print(
        f"compliance posture: {assets_n} assets, {findings_n} findings (about 8% excluded), "
        f"{len(scans)} scans, {len(catalogue.frameworks)} frameworks, {controls} controls"
    )
    timed("1. compute (all frameworks)", 5, lambda: compute(catalogue, findings, scans, {}, {}, NOW))

    sources = FakeSources()
    sources.findings_by_org[TENANT.org_id] = findings
    sources.scans_by_org[TENANT.org_id] = scans
    repository = FakeComplianceRepository()
    service = ComplianceService(catalogue, repository, sources, FakeScanner(), RecordingEvents(), lambda: NOW)

    def service_posture() -> object:
        return asyncio.run(service.posture(TENANT))

    timed("2. service posture (+ snapshot, change detection)", 5, service_posture)
    posture = compute(catalogue, findings, scans, {}, {}, NOW)
    timed(
        "3. reply: CompliancePosture message + serialise",
        5,
        lambda: posture_message(catalogue, posture).SerializeToString(),
    )
    size = len(posture_message(catalogue, posture).SerializeToString())
    failing = sum(1 for c in posture.controls() if c.status.value == "failing")
    print(f"  reply {size / 1024:.0f} KiB; {failing} of {controls} controls failing; budget: under 2000 ms")


if __name__ == "__main__":
    main()
