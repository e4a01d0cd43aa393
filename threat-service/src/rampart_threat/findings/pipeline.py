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

from collections.abc import Callable, Iterable, Mapping, Sequence
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


def _by_scan(events: Iterable[scan_pb2.ScanEvent]) -> dict[str, list[scan_pb2.ScanEvent]]:
    grouped: dict[str, list[scan_pb2.ScanEvent]] = {}
    for event in events:
        grouped.setdefault(event.scan_id, []).append(event)
    return grouped


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
        await self.apply_many([(event, request_id)])

    async def apply_many(self, events: Sequence[tuple[scan_pb2.ScanEvent, str]]) -> None:
        """Scan events (with their request ids) in stream order, e.g. one fetch of the consumer. The
        port events between two final events are applied together: one tally write per scan to begin
        them, the ledger's batch for all their findings, one outbox write, one tally write per scan to
        finish them. A final event settles after the port events before it."""
        run: list[scan_pb2.ScanEvent] = []
        requests: dict[str, str] = {}
        for event, request_id in events:
            if event.type in PORT_EVENTS and event.HasField("port"):
                run.append(event)
                requests[event.event_id] = request_id
            elif event.type in FINAL_EVENTS:
                await self._ports(run, requests)
                run = []
                await self._settle(event, request_id)
            # queued / started / progress, and the pipeline's own finding events: nothing to do
        await self._ports(run, requests)

    async def _ports(self, events: Sequence[scan_pb2.ScanEvent], requests: Mapping[str, str]) -> None:
        opened = [event for event in events if event.port.state == scan_pb2.PORT_STATE_OPEN]
        if not opened:
            return
        now = self._clock()
        begun = [event for event in opened if event.port.service.name]  # findings are possible
        for scan_id, of_scan in _by_scan(begun).items():  # marked begun until their note below
            hosts = {event.port.host for event in of_scan}
            done = [event.event_id for event in of_scan]
            await self._tally.begin(scan_id, of_scan[0].owner.org_id, hosts, done, now)
        found: list[list[Finding]] = [
            list(await self._source.findings_for(context_of(event), event.port)) for event in begun
        ]
        sightings = iter(await self._ledger.record_many([f for of_event in found for f in of_event]))
        announced: dict[str, list[ScanFinding]] = {}
        entries: list[dict[str, Any]] = []
        for event, findings in zip(begun, found, strict=True):
            for finding in findings:
                sighting = next(sightings)
                scan_finding_ = scan_finding(finding, sighting)
                announced.setdefault(event.scan_id, []).append(scan_finding_)
                if finding.kev and sighting.first_sighting and self._kev is not None:
                    await self._kev.on_kev_finding(finding, sighting.vulnerability_id)
                subject, notice = finding_event(event, scan_finding_, self._clock())
                request_id = requests.get(event.event_id, "")
                entries.append(Outbox.entry(subject, notice.SerializeToString(), notice.event_id, request_id))
        if entries:
            await self._outbox.add_entries(entries)  # one store write and one flush for them all
        for scan_id, of_scan in _by_scan(opened).items():
            hosts = {event.port.host for event in of_scan}
            done = [event.event_id for event in of_scan if event.port.service.name]
            findings_of_scan = announced.get(scan_id, [])
            if not findings_of_scan and not done and all((scan_id, h) in self._hosts_noted for h in hosts):
                continue
            await self._tally.note(scan_id, of_scan[0].owner.org_id, hosts, findings_of_scan, done)
            if len(self._hosts_noted) >= MAX_HOSTS_NOTED:
                self._hosts_noted.clear()
            self._hosts_noted.update((scan_id, host) for host in hosts)

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
