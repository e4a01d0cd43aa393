"""Scan diff: two 65,535-port scans of one host with 1,000 open ports each.

Only open ports are stored per port (closed and filtered ones are counts on the host), so a
65,535-port scan with 1,000 open ports is 1,000 port results and one host summary. Between the
two scans 50 ports closed, 50 opened, 100 services changed version and 20 certificates were
replaced. Times what DiffScans does after reading both scans' results from the store: the
comparison (``diff_results``), the reply message (``diff_to_proto``) and its serialisation.
Prints the median and the worst of 20 runs; the budget is 200 ms.
"""

from __future__ import annotations

import statistics
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rampart_scan.domain import (
    Certificate,
    HostResult,
    Owner,
    PortCounts,
    PortResult,
    Scan,
    ScanSpec,
    ServiceInfo,
    TlsAudit,
)
from rampart_scan.domain.diff import ScanDiff, ScanSide, diff_results
from rampart_scan.mappers import diff_to_proto

HOST = "127.0.0.1"
ALL_PORTS, OPEN_PORTS, RUNS, BUDGET_MS = 65_535, 1_000, 20, 200.0
NOW = datetime(2026, 6, 1, tzinfo=UTC)


def certificate(subject: str, days: int) -> Certificate:
    return Certificate(
        subject=subject,
        issuer="CN=bench-ca",
        subject_alt_names=("bench.local", "www.bench.local"),
        not_before=NOW - timedelta(days=30),
        not_after=NOW + timedelta(days=days),
        key_type="RSA",
        key_bits=2048,
        signature_algorithm="sha256WithRSAEncryption",
        self_signed=False,
        expired=False,
        not_yet_valid=False,
        hostname_mismatch=False,
    )


def open_port(number: int, version: str, cert: Certificate | None) -> PortResult:
    service = ServiceInfo(
        "https" if cert else "ssh",
        "nginx" if cert else "OpenSSH",
        version,
        facts={"http.server": f"nginx/{version}"} if cert else {"ssh.kex": "curve25519-sha256"},
    )
    tls = TlsAudit(("TLSv1.2", "TLSv1.3"), "TLSv1.3", "TLS_AES_128_GCM_SHA256", cert) if cert else None
    return PortResult(HOST, number, "open", rtt_ms=0.2, service=service, tls=tls)


def scans() -> tuple[ScanSide, ScanSide]:
    numbers = list(range(1_000, 1_000 + 60 * OPEN_PORTS, 60))[:OPEN_PORTS]  # spread over the range
    before = [
        open_port(n, "1.0", certificate(f"CN={n}", 400) if i % 4 == 0 else None)
        for i, n in enumerate(numbers)
    ]
    after = list(before[50:])  # 50 closed
    after += [open_port(n + 1, "1.0", None) for n in numbers[:50]]  # 50 opened
    for i in range(100):  # 100 upgraded
        port = after[i]
        if port.service is not None:
            after[i] = replace(port, service=replace(port.service, version="2.0"))
    changed = 0
    for i, port in enumerate(after):  # 20 certificates replaced, one of them expiring soon
        if port.tls is not None and port.tls.certificate is not None and changed < 20:
            after[i] = replace(port, tls=replace(port.tls, certificate=certificate(f"CN=new{i}", 10 + i)))
            changed += 1

    def host(count: int) -> HostResult:
        return HostResult(HOST, counts=PortCounts(open=count, closed=ALL_PORTS - count))

    return ScanSide("tcp", before, (host(len(before)),)), ScanSide("tcp", after, (host(len(after)),))


def main() -> None:
    before, after = scans()
    owner = Owner("usr_bench", "org_bench")
    scan = Scan(id="scan_new", owner=owner, spec=ScanSpec(targets=(HOST,), ports="1-65535"), created_at=NOW)
    against = replace(scan, id="scan_old")
    timings, size = [], 0
    diff = diff_results(before, after, NOW)
    for _ in range(RUNS):
        started = time.perf_counter()
        diff = diff_results(before, after, NOW)
        size = len(diff_to_proto(ScanDiff(scan, against, diff)).SerializeToString())
        timings.append((time.perf_counter() - started) * 1000)
    print(
        f"diff of two {ALL_PORTS:,}-port scans, {OPEN_PORTS:,} open ports each: "
        f"{len(diff.ports_opened)} opened, {len(diff.ports_closed)} closed, "
        f"{len(diff.services_changed)} services changed, "
        f"{len(diff.certificates_changed)} certificates changed, "
        f"{len(diff.certificates_expiring)} expiring; reply {size:,} bytes"
    )
    median, worst = statistics.median(timings), max(timings)
    verdict = "within" if worst < BUDGET_MS else "OVER"
    budget = f"{verdict} the {BUDGET_MS:.0f} ms budget"
    print(f"  median {median:.1f} ms, worst {worst:.1f} ms of {RUNS} runs ({budget})")


if __name__ == "__main__":
    main()
