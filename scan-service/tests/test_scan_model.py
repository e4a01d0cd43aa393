"""The scan aggregate's transitions, and the one mapping per boundary (engine, store, proto)."""

from __future__ import annotations

import ipaddress
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from rampart.lib.ids import from_timestamp
from rampart.scan.v1 import scan_pb2
from rampart_scan.documents import port_fields, port_from_doc, scan_from_doc, scan_to_doc
from rampart_scan.domain import (
    CANCELLED,
    COMPLETED,
    FAILED,
    QUEUED,
    RUNNING,
    IllegalTransition,
    Owner,
    PortCounts,
    Scan,
    ScanError,
    ScanHeld,
    ScanOptions,
    ScanSpec,
)
from rampart_scan.engine.ports import port_ranges
from rampart_scan.engine.scanner import PortFinding
from rampart_scan.engine.services import ServiceInfo
from rampart_scan.engine.targets import Host
from rampart_scan.engine.tls import Certificate, TlsReport
from rampart_scan.events import lifecycle_entry
from rampart_scan.findings import port_result
from rampart_scan.mappers import port_to_proto, scan_to_proto

AT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
NOW = AT.timestamp()
SCAN = Scan(
    "scan_1",
    Owner("usr_a", "org_a"),
    ScanSpec(("127.0.0.1",), "tcp", "1-10", ScanOptions(ssl_check=True), "standard", 600),
    AT,
    port_count=10,
)


def test_a_claim_starts_the_scan_under_a_lease_and_counts_the_attempt() -> None:
    claimed = SCAN.claim("w1", "w1/abc", NOW, 60, 120, AT)
    assert (claimed.status, claimed.attempts, claimed.started_at) == (RUNNING, 1, AT)
    assert (claimed.lease.worker, claimed.lease.until, claimed.stale_at) == ("w1", NOW + 60, NOW + 180)
    again = replace(claimed, lease=replace(claimed.lease, until=NOW - 1)).claim(
        "w2", "w2/x", NOW, 60, 120, AT
    )
    assert (again.attempts, again.started_at, again.lease.worker) == (2, AT, "w2")  # first start kept


def test_a_live_lease_or_a_final_state_refuses_a_claim() -> None:
    claimed = SCAN.claim("w1", "w1/abc", NOW, 60, 120, AT)
    with pytest.raises(ScanHeld):
        claimed.claim("w2", "w2/x", NOW + 59, 60, 120, AT)
    with pytest.raises(IllegalTransition):
        replace(SCAN, status=COMPLETED).claim("w2", "w2/x", NOW, 60, 120, AT)


def test_only_the_current_claim_renews_its_lease() -> None:
    claimed = SCAN.claim("w1", "w1/abc", NOW, 60, 120, AT)
    assert claimed.renew("w1/abc", NOW + 30, 60, 120).lease.until == NOW + 90
    with pytest.raises(IllegalTransition):
        claimed.renew("w9/zzz", NOW + 30, 60, 120)


def test_a_scan_finishes_once_and_completion_means_full_progress() -> None:
    running = SCAN.claim("w1", "w1/abc", NOW, 60, 120, AT).report_progress(40)
    done = running.finish(COMPLETED, AT + timedelta(seconds=3), PortCounts(1, 9))
    assert (done.progress, done.lease.until, done.duration_seconds, done.counts.total) == (100, 0.0, 3.0, 10)
    failed = running.finish(FAILED, AT, PortCounts(), ScanError("INTERNAL_ERROR", "x"))
    assert (failed.progress, failed.error) == (40, ScanError("INTERNAL_ERROR", "x"))
    with pytest.raises(IllegalTransition):
        done.finish(FAILED, AT, PortCounts())
    with pytest.raises(IllegalTransition):
        running.finish(RUNNING, AT, PortCounts())


def test_cancel_ends_a_queued_scan_but_only_asks_a_running_one() -> None:
    cancelled = SCAN.cancel(AT)
    assert (cancelled.status, cancelled.completed_at) == (CANCELLED, AT)
    asked = SCAN.claim("w1", "t", NOW, 60, 120, AT).cancel(AT)
    assert (asked.status, asked.cancel_requested) == (RUNNING, True)
    with pytest.raises(IllegalTransition):
        cancelled.cancel(AT)


def test_only_a_stale_unleased_active_scan_is_requeued() -> None:
    stale = replace(SCAN, stale_at=NOW - 1)
    assert stale.requeue(NOW, 120) == replace(stale, stale_at=NOW + 120, requeues=1)
    with pytest.raises(IllegalTransition):
        replace(SCAN, stale_at=NOW + 5).requeue(NOW, 120)
    with pytest.raises(IllegalTransition):
        replace(stale, status=COMPLETED).requeue(NOW, 120)


def test_a_scan_survives_the_round_trip_through_its_document() -> None:
    running = SCAN.claim("w1", "w1/abc", NOW, 60, 120, AT).cancel(AT)
    finished = running.finish(CANCELLED, AT, PortCounts(2, 3, 4), ScanError("SCAN_CANCELLED", "by caller"))
    for scan in (SCAN, running, finished, replace(SCAN, owner=Owner("u", "o", sandbox=True))):
        assert scan_from_doc(scan_to_doc(scan)) == scan
    assert scan_to_doc(SCAN)["status"] == QUEUED


def test_a_finding_maps_once_per_boundary_engine_store_and_proto() -> None:
    cert = Certificate(
        "CN=db", "CN=ca", ["db.local.test"], AT, AT + timedelta(days=90), "RSA", 2048, "sha256", False, False,
        False, True,
    )  # fmt: skip
    finding = PortFinding(
        443, "open", 1.5, ServiceInfo("https", "nginx", "1.22.1", cpe="cpe:x", confidence=95),
        TlsReport(["TLSv1.3"], "TLSv1.3", "TLS_AES_256_GCM_SHA384", cert, ["hostname mismatch"]),
    )  # fmt: skip
    result = port_result(Host(ipaddress.ip_address("::ffff:127.0.0.1"), "db.local.test"), finding)
    assert (result.host, result.name) == ("127.0.0.1", "db.local.test")
    stored = {"host": result.host, "port": result.port, **port_fields(result)}
    assert port_from_doc(stored) == result
    proto = port_to_proto(result)
    assert (proto.state, proto.service.product, proto.rtt_ms) == (scan_pb2.PORT_STATE_OPEN, "nginx", 1.5)
    assert list(proto.tls.certificate.subject_alt_names) == ["db.local.test"]
    assert from_timestamp(proto.tls.certificate.not_after) == AT + timedelta(days=90)
    assert proto.tls.certificate.hostname_mismatch


def test_the_scan_message_shows_full_progress_and_no_estimate_once_completed() -> None:
    queued = scan_to_proto(replace(SCAN, estimated_duration_seconds=30))
    assert from_timestamp(queued.estimated_completion) == AT + timedelta(seconds=30)
    done = scan_to_proto(replace(SCAN, status=COMPLETED, progress=70))
    assert (done.progress, done.HasField("estimated_completion"), done.error.code) == (100, False, "")


def test_every_event_names_the_profile_and_a_final_one_the_ports_probed() -> None:
    """threat-service reads the profile for its checks and, from the final event, what a scan covered."""
    spec = replace(SCAN.spec, ports="8000-8002,22,80,81", profile="pentest")
    scan = replace(SCAN, spec=spec, status=QUEUED)
    queued = scan_pb2.ScanEvent.FromString(bytes(lifecycle_entry(scan, "req_1")["payload"]))
    assert (queued.profile, queued.HasField("coverage")) == ("pentest", False)
    finished = scan.finish(COMPLETED, AT, PortCounts(open=1, closed=5))
    final = scan_pb2.ScanEvent.FromString(bytes(lifecycle_entry(finished, "req_1", summary=True)["payload"]))
    assert final.profile == "pentest"
    assert (final.coverage.ports, final.coverage.protocol) == ("22,80-81,8000-8002", "tcp")


def test_port_ranges_are_ascending_and_merged() -> None:
    assert port_ranges([443, 22, 23, 21, 80, 22]) == "21-23,80,443"
    assert port_ranges(list(range(1, 65536))) == "1-65535"
    assert port_ranges([]) == ""
