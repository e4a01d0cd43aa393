"""The finding pipeline on fakes: what a scan's events turn into on the scan's own stream."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any, cast

import pytest
from nats.aio.msg import Msg
from pipeline_fakes import AT, Ledger, Outbox, RuleSource
from test_activity_service import FakeActivityRepository

from rampart.common.v1 import common_pb2
from rampart.lib.events import Outcome
from rampart.scan.v1 import scan_pb2
from rampart.threat.v1 import threat_pb2
from rampart_threat.api import ThreatServicer
from rampart_threat.consumers import ScanEventHandler
from rampart_threat.findings.model import Finding
from rampart_threat.findings.pipeline import (
    PENDING_PATIENCE,
    FindingPipeline,
    SettlementDeferred,
    parse_ranges,
)
from rampart_threat.findings.ports import ScanContext, Sighting
from rampart_threat.findings.tally import InMemoryScanTally
from rampart_threat.service import ActivityService

LIVE = common_pb2.Owner(user_id="usr_a", org_id="org_a", mode=common_pb2.KEY_MODE_LIVE)
TEST = common_pb2.Owner(user_id="usr_a", org_id="org_a", mode=common_pb2.KEY_MODE_TEST)


def port_event(
    scan_id: str,
    host: str,
    port: int,
    service: str = "",
    owner: common_pb2.Owner = LIVE,
    kind: scan_pb2.ScanEventType.ValueType = scan_pb2.SCAN_EVENT_TYPE_SERVICE_DETECTED,
) -> scan_pb2.ScanEvent:
    return scan_pb2.ScanEvent(
        event_id=f"{scan_id}.service.{host}.{port}",
        scan_id=scan_id,
        owner=owner,
        type=kind,
        sequence=1,
        status=scan_pb2.SCAN_STATUS_RUNNING,
        profile="standard",
        port=scan_pb2.PortResult(
            host=host,
            port=port,
            protocol="tcp",
            state=scan_pb2.PORT_STATE_OPEN,
            service=scan_pb2.ServiceInfo(name=service),
        ),
    )


def final_event(
    scan_id: str,
    kind: scan_pb2.ScanEventType.ValueType = scan_pb2.SCAN_EVENT_TYPE_COMPLETED,
    ports: str = "20-23,80",
    owner: common_pb2.Owner = LIVE,
) -> scan_pb2.ScanEvent:
    return scan_pb2.ScanEvent(
        event_id=f"{scan_id}.{scan_pb2.ScanEventType.Name(kind)}",
        scan_id=scan_id,
        owner=owner,
        type=kind,
        sequence=9,
        status=scan_pb2.SCAN_STATUS_COMPLETED,
        profile="standard",
        coverage=scan_pb2.ScanCoverage(ports=ports, protocol="tcp"),
    )


def parts() -> tuple[FindingPipeline, RuleSource, Ledger, Outbox]:
    source, ledger, outbox = RuleSource(), Ledger(), Outbox()
    return (
        FindingPipeline(source, ledger, InMemoryScanTally(), outbox, clock=lambda: AT),
        source,
        ledger,
        outbox,
    )


async def test_a_detected_service_is_announced_as_finding_events_on_the_scans_stream() -> None:
    pipeline, _, _, outbox = parts()
    await pipeline.apply(port_event("scan_1", "10.0.0.5", 22, "ssh"))

    subjects = [subject for subject, _ in outbox.sent]
    assert subjects == ["scan.events.scan_1.finding", "scan.events.scan_1.finding"]
    notices = [event.finding for event in outbox.of_type(scan_pb2.SCAN_EVENT_TYPE_FINDING)]
    assert [(n.rule_id, n.cve, n.type, n.severity) for n in notices] == [
        ("RMP-SSH-001", "", "exposure", "medium"),
        ("", "CVE-2024-6387", "vulnerable_service", "high"),
    ]
    first = notices[0]
    assert (first.host, first.port, first.protocol, first.status, first.first_sighting) == (
        "10.0.0.5",
        22,
        "tcp",
        "open",
        True,
    )
    assert first.vulnerability_id == f"vuln_{first.fingerprint[:12]}"
    event = outbox.sent[0][1]
    assert (event.scan_id, event.owner.org_id, event.sequence) == (
        "scan_1",
        "org_a",
        int(AT.timestamp() * 1e6),
    )


async def test_a_redelivered_port_event_announces_nothing_twice() -> None:
    """The ledger sees the finding again (a redelivery); the outbox gets the very same event ids."""
    pipeline, _, ledger, outbox = parts()
    event = port_event("scan_1", "10.0.0.5", 22, "ssh")
    await pipeline.apply(event)
    first_ids = list(outbox.adds)
    await pipeline.apply(event)
    # the service_detected after a port_found of the same port finds the same problems
    await pipeline.apply(
        port_event("scan_1", "10.0.0.5", 22, "ssh", kind=scan_pb2.SCAN_EVENT_TYPE_PORT_FOUND)
    )

    assert len(ledger.recorded) == 6
    assert outbox.adds == first_ids * 3
    assert len(outbox.sent) == 2


async def test_ports_without_a_service_or_not_open_produce_no_finding() -> None:
    pipeline, source, _, outbox = parts()
    await pipeline.apply(port_event("scan_1", "10.0.0.5", 8081))
    closed = port_event("scan_1", "10.0.0.6", 22, "ssh")
    closed.port.state = scan_pb2.PORT_STATE_CLOSED
    await pipeline.apply(closed)
    assert source.contexts == []
    assert outbox.sent == []


async def test_a_completed_scan_settles_what_it_covered_and_says_so_once() -> None:
    pipeline, _, ledger, outbox = parts()
    await pipeline.apply(port_event("scan_1", "10.0.0.5", 22, "ssh"))
    await pipeline.apply(port_event("scan_1", "10.0.0.7", 80, "http"))
    await pipeline.apply(port_event("scan_1", "10.0.0.7", 8081))  # open, no service: the host counts
    final = final_event("scan_1")
    await pipeline.apply(final)
    await pipeline.apply(final)  # redelivered

    coverage = ledger.settled[0]
    assert coverage.hosts == {"10.0.0.5", "10.0.0.7"}
    assert coverage.ports == {(20, "tcp"), (21, "tcp"), (22, "tcp"), (23, "tcp"), (80, "tcp")}
    assert coverage.seen == {finding.fingerprint for finding in ledger.recorded}
    assert (coverage.scan_id, coverage.org_id, coverage.live) == ("scan_1", "org_a", True)
    settled = outbox.of_type(scan_pb2.SCAN_EVENT_TYPE_FINDINGS_SETTLED)
    assert len(settled) == 1
    assert outbox.sent[-1][0] == "scan.events.scan_1.findings_settled"
    assert settled[0].settled.findings == 3
    assert dict(settled[0].settled.by_severity) == {"medium": 3}


async def test_an_unfinished_scan_settles_nothing_but_still_closes_its_findings() -> None:
    """A cancelled scan shows nothing fixed (no settle) and the stream still learns the findings are final."""
    pipeline, _, ledger, outbox = parts()
    await pipeline.apply(port_event("scan_1", "10.0.0.5", 22, "ssh"))
    await pipeline.apply(final_event("scan_1", scan_pb2.SCAN_EVENT_TYPE_CANCELLED))

    assert ledger.settled == []
    (settled,) = outbox.of_type(scan_pb2.SCAN_EVENT_TYPE_FINDINGS_SETTLED)
    assert settled.settled.findings == 2
    assert dict(settled.settled.by_severity) == {"medium": 1, "high": 1}
    assert settled.settled.resolved == 0


async def test_a_sandbox_scan_records_test_findings_apart_from_live_ones() -> None:
    pipeline, source, ledger, _ = parts()
    await pipeline.apply(port_event("scan_live", "10.0.0.5", 22, "ssh", owner=LIVE))
    await pipeline.apply(port_event("scan_test", "10.0.0.5", 22, "ssh", owner=TEST))
    await pipeline.apply(final_event("scan_test", owner=TEST))

    assert [context.live for context in source.contexts] == [True, False]
    live = {f.fingerprint for f in ledger.recorded if f.live}
    test = {f.fingerprint for f in ledger.recorded if not f.live}
    assert len(live) == len(test) == 2
    assert not live & test
    assert ledger.settled[0].live is False


def test_coverage_ranges_expand_and_skip_what_is_not_a_port() -> None:
    assert parse_ranges("21-23,80, 443") == [21, 22, 23, 80, 443]
    assert parse_ranges("") == []
    assert parse_ranges("top-100,x-1") == []
    assert len(parse_ranges("1-65535")) == 65_535


async def test_the_consumer_skips_the_pipelines_own_events() -> None:
    """threat-service reads scan.events.> and its finding events come back on it: they change nothing."""
    pipeline, _, ledger, outbox = parts()
    handler = ScanEventHandler(ActivityService(FakeActivityRepository()), findings=pipeline)
    await pipeline.apply(port_event("scan_1", "10.0.0.5", 22, "ssh"))
    for subject, event in list(outbox.sent):
        message = Msg(_client=None, subject=subject, data=event.SerializeToString())  # type: ignore[arg-type]
        assert await handler(message) is Outcome.DUPLICATE
    port = port_event("scan_1", "10.0.0.6", 80, "http")
    message = Msg(_client=None, subject="scan.events.scan_1.service_detected", data=port.SerializeToString())  # type: ignore[arg-type]
    assert await handler(message) is Outcome.APPLIED
    assert len(ledger.recorded) == 3
    assert len(outbox.sent) == 3


async def test_the_scan_list_and_results_read_what_the_pipeline_announced() -> None:
    """CountScanFindings for a page of scans, ListScanFindings for one: most severe first, own org only."""
    source, ledger, outbox, tally = RuleSource(), Ledger(), Outbox(), InMemoryScanTally()
    pipeline = FindingPipeline(source, ledger, tally, outbox, clock=lambda: AT)
    await pipeline.apply(port_event("scan_1", "10.0.0.7", 80, "http"))
    await pipeline.apply(port_event("scan_1", "10.0.0.5", 22, "ssh"))
    await pipeline.apply(port_event("scan_2", "10.0.0.5", 22, "ssh"))
    await pipeline.apply(final_event("scan_1"))
    servicer = ThreatServicer(*([cast(Any, None)] * 7), scan_findings=tally)
    org = common_pb2.Owner(org_id="org_a")

    counts = await servicer.CountScanFindings(
        threat_pb2.CountScanFindingsRequest(owner=org, scan_ids=["scan_1", "scan_2", "scan_x"]),
        cast(Any, None),
    )
    assert {(c.scan_id, c.findings, c.settled) for c in counts.counts} == {
        ("scan_1", 3, True),
        ("scan_2", 2, False),
    }
    assert dict(next(c for c in counts.counts if c.scan_id == "scan_1").by_severity) == {
        "medium": 2,
        "high": 1,
    }
    listed = await servicer.ListScanFindings(
        threat_pb2.ListScanFindingsRequest(owner=org, scan_id="scan_1"), cast(Any, None)
    )
    assert [(f.severity, f.host, f.port) for f in listed.findings] == [
        ("high", "10.0.0.5", 22),
        ("medium", "10.0.0.5", 22),
        ("medium", "10.0.0.7", 80),
    ]
    other = common_pb2.Owner(org_id="org_b")
    assert not (
        await servicer.CountScanFindings(
            threat_pb2.CountScanFindingsRequest(owner=other, scan_ids=["scan_1"]), cast(Any, None)
        )
    ).counts
    theirs = await servicer.ListScanFindings(
        threat_pb2.ListScanFindingsRequest(owner=other, scan_id="scan_1"), cast(Any, None)
    )
    assert list(theirs.findings) == []


class BrokenOnce(Outbox):
    """An outbox whose first write fails, as if threat-service died between the ledger and the outbox."""

    failed: bool = False

    async def add_entries(self, entries: list[dict[str, Any]]) -> None:
        if not self.failed:
            self.failed = True
            raise ConnectionError("store gone")
        await super().add_entries(entries)


async def test_a_crash_between_the_ledger_and_the_outbox_loses_no_announcement() -> None:
    """The ledger recorded the findings, the announcement failed: the redelivery announces them once."""
    source, ledger, outbox = RuleSource(), Ledger(), BrokenOnce()
    pipeline = FindingPipeline(source, ledger, InMemoryScanTally(), outbox, clock=lambda: AT)
    event = port_event("scan_1", "10.0.0.5", 22, "ssh")
    with pytest.raises(ConnectionError):
        await pipeline.apply(event)
    await pipeline.apply(event)  # the broker redelivers: the consumer never acknowledged it
    await pipeline.apply(event)
    assert len(ledger.recorded) == 6  # recorded each time; the ledger tells the repeats apart
    assert [e.finding.cve or e.finding.rule_id for e in outbox.of_type(scan_pb2.SCAN_EVENT_TYPE_FINDING)] == [
        "RMP-SSH-001",
        "CVE-2024-6387",
    ]


class Counts:
    def __init__(self) -> None:
        self.calls: list[tuple[str, bool, list[str]]] = []

    async def count_open(self, org_id: str, live: bool, hosts: Iterable[str]) -> None:
        self.calls.append((org_id, live, sorted(hosts)))


class KevSource(RuleSource):
    """The rule source's findings, its CVE listed in KEV."""

    async def findings_for(self, context: ScanContext, port: scan_pb2.PortResult) -> Sequence[Finding]:
        found = await super().findings_for(context, port)
        return [replace(f, kev=f.subject.startswith("CVE-")) for f in found]


class KevIncidents:
    def __init__(self) -> None:
        self.told: list[tuple[str, str, str]] = []

    async def on_kev_finding(self, finding: Finding, vulnerability_id: str) -> None:
        self.told.append((finding.scan_id, finding.subject, vulnerability_id))


async def test_every_final_event_recounts_the_open_findings_of_the_hosts_the_scan_reached() -> None:
    counts = Counts()
    pipeline = FindingPipeline(RuleSource(), Ledger(), InMemoryScanTally(), Outbox(), lambda: AT, counts)
    await pipeline.apply(port_event("scn_1", "10.0.0.5", 22, "ssh"))
    await pipeline.apply(port_event("scn_1", "10.0.0.6", 80, "http"))
    assert counts.calls == []  # counted once the scan's findings are final, not per port
    await pipeline.apply(final_event("scn_1"))
    await pipeline.apply(port_event("scn_2", "10.0.0.7", 22, "ssh", owner=TEST))
    await pipeline.apply(final_event("scn_2", scan_pb2.SCAN_EVENT_TYPE_CANCELLED, owner=TEST))
    assert counts.calls == [("org_a", True, ["10.0.0.5", "10.0.0.6"]), ("org_a", False, ["10.0.0.7"])]


async def test_the_first_sighting_of_a_kev_listed_cve_is_told_to_the_incident_rules() -> None:
    incidents = KevIncidents()
    pipeline = FindingPipeline(
        KevSource(), Ledger(), InMemoryScanTally(), Outbox(), lambda: AT, kev=incidents
    )
    await pipeline.apply(port_event("scn_1", "10.0.0.5", 22, "ssh"))
    await pipeline.apply(port_event("scn_1", "10.0.0.5", 80, "http"))  # no CVE: nothing to tell
    await pipeline.apply(port_event("scn_2", "10.0.0.5", 22, "ssh"))  # seen again: not a first sighting
    assert [(scan, cve) for scan, cve, _ in incidents.told] == [("scn_1", "CVE-2024-6387")]
    assert incidents.told[0][2].startswith("vuln_")


class CrashingLedger(Ledger):
    """A ledger whose next record raises, as if threat-service died in the middle of a port event."""

    crash_next: bool = False

    async def record(self, finding: Finding) -> Sighting:
        if self.crash_next:
            self.crash_next = False
            raise ConnectionError("killed mid-way")
        return await super().record(finding)


async def test_a_port_event_cut_short_holds_the_settlement_back_until_its_redelivery_is_applied() -> None:
    ledger, outbox, now = CrashingLedger(), Outbox(), [AT]
    pipeline = FindingPipeline(RuleSource(), ledger, InMemoryScanTally(), outbox, clock=lambda: now[0])
    await pipeline.apply(port_event("scn_1", "10.0.0.5", 80, "http"))
    ledger.crash_next = True
    with pytest.raises(ConnectionError):
        await pipeline.apply(port_event("scn_1", "10.0.0.5", 22, "ssh"))  # unacked: redelivered later
    with pytest.raises(SettlementDeferred):  # the final event came first to the restarted consumer
        await pipeline.apply(final_event("scn_1"))
    assert not [name for name in outbox.adds if name.endswith("findings_settled")]
    await pipeline.apply(port_event("scn_1", "10.0.0.5", 22, "ssh"))  # the redelivery
    await pipeline.apply(final_event("scn_1"))  # the retried final event
    assert outbox.adds[-1].endswith("findings_settled")
    assert {f.subject for f in ledger.recorded} == {"RMP-HTTP-001", "RMP-SSH-001", "CVE-2024-6387"}
    assert ledger.settled[-1].seen == {f.fingerprint for f in ledger.recorded}


async def test_a_port_event_never_redelivered_holds_the_settlement_back_for_a_while_only() -> None:
    ledger, outbox, now = CrashingLedger(), Outbox(), [AT]
    pipeline = FindingPipeline(RuleSource(), ledger, InMemoryScanTally(), outbox, clock=lambda: now[0])
    ledger.crash_next = True
    with pytest.raises(ConnectionError):
        await pipeline.apply(port_event("scn_1", "10.0.0.5", 22, "ssh"))
    with pytest.raises(SettlementDeferred):
        await pipeline.apply(final_event("scn_1"))
    now[0] = AT + PENDING_PATIENCE  # taken as lost: every stream still ends
    await pipeline.apply(final_event("scn_1"))
    assert outbox.adds[-1].endswith("findings_settled")
