"""From scan events to live findings (the consumer hands every scan event to ``FindingPipeline``).

port_found / service_detected ──► FindingSource.findings_for ──► FindingLedger.record
    ──► outbox ──► ``finding`` event on scan.events.<scan_id>.finding
final event ──► FindingLedger.settle (completed scans only) ──► outbox ──► ``findings_settled``

Every step is idempotent: the ledger tells a redelivery apart, the tally is a set, and the outbox
keeps each event id once (the id is derived from the finding's fingerprint and the scan), so a scan
event delivered twice, or a restart anywhere in between, publishes nothing twice and loses nothing.

What a completed scan covered (the ledger resolves what it no longer sees there): the ports its
final event lists (scan-service names every port probed, open or not) on the hosts where this scan
reported an open port. A host the scan did not reach at all is not taken as fixed: it may only have
been down.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any, Protocol

import structlog

from rampart.common.v1 import common_pb2
from rampart.lib.ids import utcnow
from rampart.lib.outbox import Outbox
from rampart.lib.scanevents import FINDING_EVENTS
from rampart.scan.v1 import scan_pb2
from rampart_threat.findings.model import Finding
from rampart_threat.findings.notices import finding_event, scan_finding, settled_event
from rampart_threat.findings.ports import Coverage, FindingLedger, FindingSource, ScanContext, Settlement
from rampart_threat.findings.tally import ScanFinding, ScanTally, Tally

log = structlog.get_logger(__name__)

PORT_EVENTS = frozenset({scan_pb2.SCAN_EVENT_TYPE_PORT_FOUND, scan_pb2.SCAN_EVENT_TYPE_SERVICE_DETECTED})
FINAL_EVENTS = frozenset(
    {
        scan_pb2.SCAN_EVENT_TYPE_COMPLETED,
        scan_pb2.SCAN_EVENT_TYPE_FAILED,
        scan_pb2.SCAN_EVENT_TYPE_CANCELLED,
        scan_pb2.SCAN_EVENT_TYPE_TIMEOUT,
    }
)
OWN_EVENTS = FINDING_EVENTS
MAX_COVERED_PORTS = 65_536 * 2
MAX_HOSTS_NOTED = 100_000
# How long a port event begun and never finished (its worker killed) holds back its scan's settlement:
# the broker redelivers it after the consumer's ack wait (30 s); past this it is taken as lost.
PENDING_PATIENCE = timedelta(minutes=2)


class SettlementDeferred(RuntimeError):
    """A port event of the scan is still to be redelivered: the final event is retried later (nak)."""


class EventOutbox(Protocol):
    """Stores events before sending them; an id it already holds is not added again (lib outbox)."""

    async def add_entries(self, entries: list[dict[str, Any]]) -> None: ...


class OpenFindingCounts(Protocol):
    """Keeps the asset inventory's open findings per host (``VulnerabilityLedger.count_open``)."""

    async def count_open(self, org_id: str, live: bool, hosts: Iterable[str]) -> None: ...


class KevFindings(Protocol):
    """Told of the first sighting of a CVE finding listed in CISA KEV (the incident rules'
    ``vulnerability.kev`` trigger); called again on a redelivery, so it must be idempotent."""

    async def on_kev_finding(self, finding: Finding, vulnerability_id: str) -> None: ...


def parse_ranges(ranges: str) -> list[int]:
    """``"21-23,80"`` -> ``[21, 22, 23, 80]`` (scan-service writes them; anything odd is skipped)."""
    ports: list[int] = []
    for part in ranges.split(","):
        first, _, last = part.strip().partition("-")
        if not first.isdigit() or (last and not last.isdigit()):
            continue
        low, high = int(first), int(last or first)
        ports.extend(range(max(low, 1), min(high, 65_535) + 1))
        if len(ports) > MAX_COVERED_PORTS:
            break
    return ports


def context_of(event: scan_pb2.ScanEvent) -> ScanContext:
    """Live unless the scan was started with a test key (a sandbox scan): the two never share a record."""
    return ScanContext(
        scan_id=event.scan_id,
        org_id=event.owner.org_id,
        live=event.owner.mode != common_pb2.KEY_MODE_TEST,
        profile=event.profile,
    )


def coverage_of(final: scan_pb2.ScanEvent, tally: Tally) -> Coverage:
    context = context_of(final)
    protocol = final.coverage.protocol or "tcp"
    ports = frozenset((port, protocol) for port in parse_ranges(final.coverage.ports))
    return Coverage(
        scan_id=final.scan_id,
        org_id=context.org_id,
        live=context.live,
        hosts=tally.hosts,
        ports=ports,
        seen=frozenset(tally.findings),
    )


class FindingPipeline:
    """Findings of each port event, recorded and announced; the settlement of each final event."""

    def __init__(
        self,
        source: FindingSource,
        ledger: FindingLedger,
        tally: ScanTally,
        outbox: EventOutbox,
        clock: Callable[[], datetime] = utcnow,
        counts: OpenFindingCounts | None = None,
        kev: KevFindings | None = None,
    ) -> None:
        self._source = source
        self._counts = counts
        self._kev = kev
        self._ledger = ledger
        self._tally = tally
        self._outbox = outbox
        self._clock = clock
        self._hosts_noted: set[tuple[str, str]] = set()  # (scan, host) already in the tally: skip the write

    async def apply(self, event: scan_pb2.ScanEvent, request_id: str = "") -> None:
        if event.type in PORT_EVENTS and event.HasField("port"):
            await self._port(event, request_id)
        elif event.type in FINAL_EVENTS:
            await self._settle(event, request_id)
        # queued / started / progress, and the pipeline's own finding events: nothing to do

    async def _port(self, event: scan_pb2.ScanEvent, request_id: str) -> None:
        port = event.port
        if port.state != scan_pb2.PORT_STATE_OPEN:
            return
        findings: list[Finding] = []
        done = ""
        if port.service.name:  # findings are possible: mark the event begun until its note below
            done = event.event_id
            await self._tally.begin(event.scan_id, event.owner.org_id, port.host, done, self._clock())
            findings = list(await self._source.findings_for(context_of(event), port))
        announced: list[ScanFinding] = []
        entries: list[dict[str, Any]] = []
        for finding in findings:
            sighting = await self._ledger.record(finding)
            announced.append(scan_finding(finding, sighting))
            if finding.kev and sighting.first_sighting and self._kev is not None:
                await self._kev.on_kev_finding(finding, sighting.vulnerability_id)
            subject, notice = finding_event(event, announced[-1], self._clock())
            entries.append(Outbox.entry(subject, notice.SerializeToString(), notice.event_id, request_id))
        if entries:
            await self._outbox.add_entries(entries)  # one round to the broker for the port's findings
        noted = (event.scan_id, port.host)
        if announced or done or noted not in self._hosts_noted:
            await self._tally.note(event.scan_id, event.owner.org_id, port.host, announced, done)
            if len(self._hosts_noted) >= MAX_HOSTS_NOTED:
                self._hosts_noted.clear()
            self._hosts_noted.add(noted)

    async def _settle(self, final: scan_pb2.ScanEvent, request_id: str) -> None:
        tally = await self._tally.tally(final.scan_id)
        now = self._clock()
        waiting = [key for key, begun in tally.pending.items() if now - begun < PENDING_PATIENCE]
        if waiting and tally.settlement is None:
            # A port event was begun and not finished (threat-service killed mid-way, or the store
            # failed): the broker redelivers it after its ack wait, while later events, this final one
            # among them, came to the restarted consumer at once. Settling now would close the scan's
            # findings without it; the final event is retried (nak with backoff) until it is in.
            raise SettlementDeferred(f"scan {final.scan_id}: {len(waiting)} port event(s) still to apply")
        if final.type == scan_pb2.SCAN_EVENT_TYPE_COMPLETED:
            settlement = await self._ledger.settle(coverage_of(final, tally))
        else:
            # An unfinished scan shows nothing fixed: no settle, but its findings are final all the same.
            settlement = Settlement(findings=len(tally.findings), by_severity=tally.by_severity(), resolved=0)
        await self._tally.settle(final.scan_id, final.owner.org_id, settlement)
        if self._counts is not None:  # what this scan found, and resolved, on each host it reached
            await self._counts.count_open(final.owner.org_id, context_of(final).live, tally.hosts)
        subject, settled = settled_event(final, settlement, self._clock())
        await self._outbox.add_entries(
            [Outbox.entry(subject, settled.SerializeToString(), settled.event_id, request_id)]
        )
        log.info(
            "findings settled",
            scan_id=final.scan_id,
            findings=settlement.findings,
            resolved=settlement.resolved,
        )
