"""Alerts: report-service's work for one changed scan, on a large change.

Between two 65,535-port scans of one host: 1,000 ports opened, 1,000 closed, 500 services changed
and 200 certificates expiring; 2,000 findings before and after, 1,000 of them new. Times what
report-service does per settled scan once both services answered: building ScanChanged (findings
comparison, ordering, the 50-item cap, counts) and serialising it, then, on the webhook side,
decoding it, classifying every item and filtering it with the default preferences, and building
the webhook body. Prints the median and the worst of 20 runs and the event's size.
"""

from __future__ import annotations

import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rampart.common.v1 import common_pb2
from rampart.report.v1 import report_pb2
from rampart.scan.v1 import scan_pb2
from rampart_report.alerts.changes import changes_of, scan_changed
from rampart_report.alerts.model import AlertPreferences, alerting
from rampart_report.webhooks.domain import WebhookEvent
from rampart_report.webhooks.service import payload

NOW = datetime(2026, 11, 21, tzinfo=UTC)
RUNS = 20
SEVERITIES = ("info", "low", "medium", "high", "critical")


def port(number: int) -> scan_pb2.PortChange:
    service = scan_pb2.ServiceInfo(name="http", product="nginx", version="1.24.0")
    return scan_pb2.PortChange(host="127.0.0.1", port=number, protocol="tcp", service=service)


def notice(number: int) -> scan_pb2.FindingNotice:
    return scan_pb2.FindingNotice(
        fingerprint=f"fp_{number:06d}",
        severity=SEVERITIES[number % 5],
        status="open",
        host="127.0.0.1",
        port=number,
        title=f"finding {number}",
        rule_id="RMP-TLS-001",
    )


def inputs() -> tuple[
    scan_pb2.ScanEvent, scan_pb2.ScanDiff, list[scan_pb2.FindingNotice], list[scan_pb2.FindingNotice]
]:
    diff = scan_pb2.ScanDiff(
        ports_opened=[port(n) for n in range(10_000, 11_000)],
        ports_closed=[port(n) for n in range(20_000, 21_000)],
        services_changed=[
            scan_pb2.ServiceChange(
                host="127.0.0.1", port=n, protocol="tcp", before=port(n).service, after=port(n).service
            )
            for n in range(30_000, 30_500)
        ],
        certificates_expiring=[
            scan_pb2.CertificateExpiry(host="127.0.0.1", port=n, protocol="tcp", days_left=n % 90)
            for n in range(40_000, 40_200)
        ],
    )
    diff.scan.scan_id, diff.against.scan_id = "scan_new", "scan_old"
    settled = scan_pb2.ScanEvent(
        event_id="e",
        scan_id="scan_new",
        owner=common_pb2.Owner(org_id="org_a"),
        status=scan_pb2.SCAN_STATUS_COMPLETED,
    )
    before = [notice(n) for n in range(2_000)]
    after = [notice(n) for n in range(1_000, 3_000)]
    return settled, diff, before, after


def once() -> tuple[float, int]:
    settled, diff, before, after = inputs()
    start = time.perf_counter()
    event = scan_changed(settled, diff, before, after, NOW)
    assert event is not None
    data = event.SerializeToString()
    decoded = report_pb2.ScanChanged.FromString(data)
    selected = alerting(AlertPreferences("org_a"), changes_of(decoded))
    body = payload(WebhookEvent(decoded.event_id, "scan.changed", "org_a", NOW, {"changes": selected}))
    elapsed = (time.perf_counter() - start) * 1000
    assert body
    return elapsed, len(data)


def main() -> None:
    times, size = [], 0
    for _ in range(RUNS):
        elapsed, size = once()
        times.append(elapsed)
    print(
        f"alerts: ScanChanged of 1,000 opened + 1,000 closed ports, 500 services, 200 certificates, "
        f"1,000 new / 1,000 resolved findings: build + serialise + classify + filter + body "
        f"median {statistics.median(times):.1f} ms, worst {max(times):.1f} ms of {RUNS}; "
        f"event {size / 1024:.1f} KiB"
    )


if __name__ == "__main__":
    main()
