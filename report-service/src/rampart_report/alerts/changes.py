"""ScanChanged from a scan's diff (scan-service's DiffScans) and both scans' findings
(threat-service's ListScanFindings), and back into the ``Change`` items alerts filter.

Pure functions on protobuf: this is the meeting point of two other services' contracts, like the
gateway's diff route (gateway/.../api/scans/diff.py, whose findings comparison this repeats).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Protocol

from rampart.lib.ids import from_timestamp, to_timestamp
from rampart.report.v1 import report_pb2
from rampart.scan.v1 import scan_pb2
from rampart_report.alerts.model import MAX_DAYS, RANK, Change

ITEMS_CAP = 50  # items per list in a ScanChanged; counts has them all
REOPENED = "reopened"
DIFF_LISTS = (
    "hosts_up",
    "hosts_down",
    "ports_opened",
    "ports_closed",
    "services_changed",
    "certificates_changed",
    "certificates_expiring",
)
FINDING_LISTS = ("findings_new", "findings_resolved", "findings_reopened")


def changed_event_id(scan_id: str) -> str:
    """One ScanChanged per scan: the outbox and the broker drop a second one."""
    return f"chg.{scan_id}"


def findings_diff(
    before: Sequence[scan_pb2.FindingNotice], after: Sequence[scan_pb2.FindingNotice]
) -> tuple[list[scan_pb2.FindingNotice], list[scan_pb2.FindingNotice], list[scan_pb2.FindingNotice]]:
    """(new, resolved, reopened) by fingerprint: seen now and not before is new, or reopened when its
    record says so; seen before and not now is resolved (both scans cover the same targets)."""
    old = {notice.fingerprint: notice for notice in before}
    new = {notice.fingerprint: notice for notice in after}
    appeared = [new[key] for key in new if key not in old]
    gone = [old[key] for key in old if key not in new]
    return (
        [n for n in appeared if n.status != REOPENED],
        gone,
        [n for n in appeared if n.status == REOPENED],
    )


def _most_severe_first(notices: Iterable[scan_pb2.FindingNotice]) -> list[scan_pb2.FindingNotice]:
    return sorted(notices, key=lambda n: (-RANK.get(n.severity, -1), n.host, n.port, n.fingerprint))


def scan_changed(
    settled: scan_pb2.ScanEvent,
    diff: scan_pb2.ScanDiff,
    before: Sequence[scan_pb2.FindingNotice],
    after: Sequence[scan_pb2.FindingNotice],
    now: datetime,
    cap: int = ITEMS_CAP,
) -> report_pb2.ScanChanged | None:
    """The event for ``settled``'s scan, or None when nothing changed."""
    new, resolved, reopened = findings_diff(before, after)
    event = report_pb2.ScanChanged(
        event_id=changed_event_id(settled.scan_id),
        owner=settled.owner,
        scan_id=diff.scan.scan_id or settled.scan_id,
        against_scan_id=diff.against.scan_id,
        targets=list(diff.scan.targets),
        expiring_within_days=MAX_DAYS,
        items_cap=cap,
        occurred_at=to_timestamp(now),
    )
    event.diff.CopyFrom(diff)
    event.diff.ClearField("scan")
    event.diff.ClearField("against")
    expiring = sorted(event.diff.certificates_expiring, key=lambda c: (c.days_left, c.host, c.port))
    event.diff.ClearField("certificates_expiring")
    event.diff.certificates_expiring.extend(expiring)
    for name in DIFF_LISTS:
        items = getattr(event.diff, name)
        event.counts[name] = len(items)
        del items[cap:]
    for name, notices in zip(FINDING_LISTS, (new, resolved, reopened), strict=True):
        event.counts[name] = len(notices)
        getattr(event, name).extend(_most_severe_first(notices)[:cap])
    if not any(event.counts.values()):
        return None
    return event


def _service(service: scan_pb2.ServiceInfo) -> dict[str, object] | None:
    if not (service.name or service.product or service.version):
        return None
    return {"name": service.name, "product": service.product, "version": service.version}


def _certificate(cert: scan_pb2.Certificate) -> dict[str, object]:
    not_after = from_timestamp(cert.not_after) if cert.HasField("not_after") else None
    return {
        "subject": cert.subject,
        "issuer": cert.issuer,
        "not_after": not_after.isoformat().replace("+00:00", "Z") if not_after else None,
        "key_type": cert.key_type,
        "key_bits": cert.key_bits,
    }


class _Located(Protocol):
    host: str
    port: int
    protocol: str


def _where(change: _Located) -> dict[str, object]:
    return {"host": change.host, "port": change.port, "protocol": change.protocol}


def _finding(notice: scan_pb2.FindingNotice) -> dict[str, object]:
    return {
        "vulnerability_id": notice.vulnerability_id,
        "fingerprint": notice.fingerprint,
        "severity": notice.severity,
        "title": notice.title,
        "host": notice.host,
        "port": notice.port,
        "protocol": notice.protocol,
        "cve": notice.cve,
        "rule_id": notice.rule_id,
        "status": notice.status,
    }


def changes_of(event: report_pb2.ScanChanged) -> list[Change]:
    """Every item of the event as a ``Change`` of its alert kind."""
    diff = event.diff
    found: list[Change] = []
    found += [Change("host_up", {"host": host}) for host in diff.hosts_up]
    found += [Change("host_down", {"host": host}) for host in diff.hosts_down]
    for kind, ports in (("new_open_port", diff.ports_opened), ("port_closed", diff.ports_closed)):
        found += [Change(kind, {**_where(p), "service": _service(p.service)}) for p in ports]
    found += [
        Change(
            "service_changed",
            {**_where(c), "before": _service(c.before), "after": _service(c.after)},
        )
        for c in diff.services_changed
    ]
    found += [
        Change(
            "certificate_changed",
            {
                **_where(c),
                "before": _certificate(c.before) if c.HasField("before") else None,
                "after": _certificate(c.after) if c.HasField("after") else None,
            },
        )
        for c in diff.certificates_changed
    ]
    found += [
        Change(
            "certificate_expiring",
            {**_where(c), "days_left": c.days_left, "certificate": _certificate(c.certificate)},
            days_left=c.days_left,
        )
        for c in diff.certificates_expiring
    ]
    for kind, notices in (
        ("new_finding", event.findings_new),
        ("finding_reopened", event.findings_reopened),
        ("finding_resolved", event.findings_resolved),
    ):
        found += [Change(kind, _finding(n), severity=n.severity) for n in notices]
    return found
