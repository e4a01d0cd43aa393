"""Vulnerability use cases: record a finding, settle a finished scan, and list, read and triage records.

``VulnerabilityLedger`` is the pipeline's ``FindingLedger`` (findings/ports.py). Delivery is at
least once and the store has no transactions, so each use case is a sequence of single-document
writes that converge when repeated: the sighting's marker first, then the record (a version-guarded
write that a repeat recognises by the scan id in its sightings), then the marker marked applied.
"""

from __future__ import annotations

import base64
import json
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from rampart.lib.errors import FailedPrecondition, InvalidArgument
from rampart.lib.ids import utcnow
from rampart_threat.findings.domain import (
    ACTIVE,
    Status,
    Vulnerability,
    VulnerabilityNotFound,
    vulnerability_id,
)
from rampart_threat.findings.model import Finding, FindingType, Severity
from rampart_threat.findings.ports import Coverage, Settlement, Sighting
from rampart_threat.findings.repository import (
    Delivery,
    SightingMark,
    Sort,
    VulnerabilityFilter,
    VulnerabilityOrder,
    VulnerabilityRepository,
    micros,
)

SAVE_ATTEMPTS = 8
MAX_PER_PAGE = 100
DEFAULT_PER_PAGE = 20


class WriteContended(FailedPrecondition):
    """The record kept changing under this write; the consumer retries the event."""


class HostFindingCounts(Protocol):
    """The asset inventory (``AssetService.set_finding_counts``): a host's open findings by severity."""

    async def set_finding_counts(
        self, org_id: str, live: bool, host: str, counts: Mapping[str, int]
    ) -> bool: ...


@dataclass(frozen=True)
class Viewer:
    """Who reads or triages: the organisation, the world (live or test) and the user."""

    org_id: str
    live: bool
    user_id: str


@dataclass(frozen=True)
class Listing:
    """A listing's filters and page; empty values do not filter."""

    severities: frozenset[Severity] = frozenset()
    statuses: frozenset[Status] = frozenset()
    kev: bool | None = None
    cve: str = ""
    host: str = ""
    port: int = 0
    scan_id: str = ""
    type: FindingType | None = None
    first_seen_after: datetime | None = None
    first_seen_before: datetime | None = None
    sort: Sort = Sort.PRIORITY
    descending: bool = True
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE
    cursor: str = ""


@dataclass(frozen=True)
class Page:
    items: list[Vulnerability]
    total: int
    page: int
    per_page: int
    pages: int
    next_cursor: str


@dataclass(frozen=True)
class Triage:
    """A person's change to a record; ``None`` leaves a field as it is."""

    status: Status | None = None
    note: str = ""
    accepted_until: datetime | None = None
    assignee: str | None = None


def encode_cursor(payload: dict[str, int | str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, sort: Sort) -> dict[str, int]:
    """A cursor is keyset (``k``: first_seen_key) in first_seen order, an offset (``o``) in the others."""
    try:
        payload = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        values = {key: payload[key] for key in ("k", "o") if key in payload}
        valid = payload.get("s") == sort.value and len(values) == 1
    except (ValueError, TypeError, AttributeError):
        values, valid = {}, False
    if not valid or any(type(v) is not int or not 0 <= v < 2**63 for v in values.values()):
        raise InvalidArgument("cursor is not valid for this sort", field="cursor", value=cursor[:64])
    return values


class VulnerabilityLedger:
    """The vulnerability records: the pipeline records findings and settles scans; people triage."""

    def __init__(
        self,
        repository: VulnerabilityRepository,
        clock: Callable[[], datetime] = utcnow,
        assets: HostFindingCounts | None = None,
    ) -> None:
        self._repository = repository
        self._clock = clock
        self._assets = assets  # told each host's open findings after a scan settles and after triage

    # ---- the pipeline (FindingLedger) ---------------------------------------------------
    async def record(self, finding: Finding) -> Sighting:
        """Add a finding to its record (created by a first finding); a repeat changes nothing."""
        record_id = vulnerability_id(finding.fingerprint)
        mark = SightingMark(
            record_id, finding.org_id, finding.live, finding.scan_id, finding.severity, finding.detected_at
        )
        delivery = await self._repository.mark(mark)
        if delivery is Delivery.REPEATED:
            stored = await self._repository.get(record_id)
            if stored is not None:
                return self._sighting(stored, finding, changed=False)
        changed, stored = await self._apply(finding)
        await self._repository.applied(record_id, finding.scan_id)
        return self._sighting(stored, finding, changed)

    async def record_many(self, findings: Sequence[Finding]) -> list[Sighting]:
        """``record`` for many findings (a batch of port events) in a handful of store round trips
        (markers, records read, records created, records saved, markers applied) instead of about four
        per finding; the same steps in the same order, so a crash between them and a redelivery still
        converge. A finding repeated within the batch, and any record another writer changed under
        this batch, go through ``record`` one at a time."""
        firsts: dict[str, int] = {}  # record id -> index of its first finding in the batch
        for index, finding in enumerate(findings):
            firsts.setdefault(vulnerability_id(finding.fingerprint), index)
        batch = sorted(firsts.values())
        marks = [
            SightingMark(
                vulnerability_id(f.fingerprint), f.org_id, f.live, f.scan_id, f.severity, f.detected_at
            )
            for f in (findings[i] for i in batch)
        ]
        deliveries = dict(zip(batch, await self._repository.mark_many(marks), strict=True))
        stored = await self._repository.get_many([mark.vulnerability_id for mark in marks])
        sightings: dict[int, Sighting] = {}
        created: list[tuple[int, Vulnerability]] = []
        sighted: list[tuple[int, Vulnerability]] = []
        for index in batch:
            finding = findings[index]
            record = stored.get(vulnerability_id(finding.fingerprint))
            if deliveries[index] is Delivery.REPEATED and record is not None:
                sightings[index] = self._sighting(record, finding, changed=False)
            elif record is None:
                created.append((index, Vulnerability.first(finding, self._clock())))
            elif record.sight(finding, self._clock()):
                sighted.append((index, record))
            else:  # this scan is on the record already (a repeat after a crash)
                sightings[index] = self._sighting(record, finding, changed=False)
        added = await self._repository.add_many([record for _, record in created])
        for index, record in created:
            if record.vulnerability_id in added:
                sightings[index] = self._sighting(record, findings[index], changed=True)
        if await self._repository.save_many([record for _, record in sighted]):
            for index, record in sighted:
                sightings[index] = self._sighting(record, findings[index], changed=True)
        else:  # another writer won a version race on some of them: which, a fresh read tells
            fresh = await self._repository.get_many([record.vulnerability_id for _, record in sighted])
            for index, record in sighted:
                now = fresh.get(record.vulnerability_id)
                if now is not None and now.saw_scan(findings[index].scan_id):  # this batch's write went in
                    sightings[index] = self._sighting(now, findings[index], changed=True)
        # the rest (a lost race, a record created meanwhile) the way one finding is recorded
        for index in batch:
            if index not in sightings:
                changed, record = await self._apply(findings[index])
                sightings[index] = self._sighting(record, findings[index], changed)
        applied = [
            (vulnerability_id(findings[i].fingerprint), findings[i].scan_id)
            for i in batch
            if deliveries[i] is not Delivery.REPEATED or sightings[i].changed
        ]
        await self._repository.applied_many(applied)
        for index, finding in enumerate(findings):  # repeats within the batch: redeliveries now
            if index not in sightings:
                sightings[index] = await self.record(finding)
        return [sightings[index] for index in range(len(findings))]

    async def _apply(self, finding: Finding) -> tuple[bool, Vulnerability]:
        """The record write, retried while another writer wins the version race; idempotent per scan."""
        record_id = vulnerability_id(finding.fingerprint)
        for _ in range(SAVE_ATTEMPTS):
            stored = await self._repository.get(record_id)
            if stored is None:
                created = Vulnerability.first(finding, self._clock())
                if await self._repository.add(created):
                    return True, created
                continue
            if not stored.sight(finding, self._clock()):
                return False, stored  # this scan is on the record already (a repeat after a crash)
            if await self._repository.save(stored):
                return True, stored
        raise WriteContended("the vulnerability record kept changing", vulnerability_id=record_id)

    @staticmethod
    def _sighting(stored: Vulnerability, finding: Finding, changed: bool) -> Sighting:
        return Sighting(
            vulnerability_id=stored.vulnerability_id,
            status=stored.status.value,
            first_sighting=stored.first_scan_id == finding.scan_id,
            changed=changed,
        )

    async def settle(self, coverage: Coverage) -> Settlement:
        """Resolve the records on the scan's (host, port)s it did not see; count what it saw.

        Repeating it changes nothing and answers the same: the counts are read from the store.
        """
        org, live, scan = coverage.org_id, coverage.live, coverage.scan_id
        seen = await self._repository.seen_by(org, live, scan)
        seen_ids = set(seen) | {vulnerability_id(fp) for fp in coverage.seen}
        for stored in await self._repository.on_hosts(org, live, coverage.hosts):
            if stored.vulnerability_id in seen_ids or (stored.port, stored.protocol) not in coverage.ports:
                continue
            await self._resolve(stored, scan)
        by_severity = Counter(severity.value for severity in seen.values())
        return Settlement(
            findings=len(seen),
            by_severity={severity.value: by_severity.get(severity.value, 0) for severity in Severity},
            resolved=await self._repository.resolved_by(org, live, scan),
        )

    async def _resolve(self, stored: Vulnerability, scan_id: str) -> None:
        current: Vulnerability | None = stored
        for _ in range(SAVE_ATTEMPTS):
            if current is None or not current.resolve_unseen(scan_id, self._clock()):
                return
            if await self._repository.save(current):
                return
            current = await self._repository.get(stored.vulnerability_id)
        raise WriteContended(
            "the vulnerability record kept changing", vulnerability_id=stored.vulnerability_id
        )

    async def count_open(self, org_id: str, live: bool, hosts: Iterable[str]) -> None:
        """Tell the asset inventory each host's open findings (open, reopened, confirmed) by severity.

        Counted from the records, so a repeat sets the same counts (and the inventory writes nothing).
        The pipeline calls it when a scan settles; a person's triage calls it for the record's host.
        """
        wanted = sorted(set(hosts))
        if self._assets is None or not org_id or not wanted:
            return
        counts: dict[str, Counter[str]] = {host: Counter() for host in wanted}
        for stored in await self._repository.on_hosts(org_id, live, wanted):
            if stored.status in ACTIVE and stored.host in counts:
                counts[stored.host][stored.observation.severity.value] += 1
        for host, by_severity in counts.items():
            await self._assets.set_finding_counts(org_id, live, host, dict(by_severity))

    # ---- people -------------------------------------------------------------------------
    async def get(self, viewer: Viewer, record_id: str) -> Vulnerability:
        """The caller's record in the caller's world; another organisation's or world's is not found."""
        stored = await self._repository.get(record_id) if record_id else None
        if stored is None or stored.org_id != viewer.org_id or stored.live != viewer.live:
            raise VulnerabilityNotFound("vulnerability not found", vulnerability_id=record_id[:64])
        return stored

    async def update(self, viewer: Viewer, record_id: str, triage: Triage) -> Vulnerability:
        """Apply a person's triage; every change joins the history."""
        if triage.status is None and triage.assignee is None and not triage.note.strip():
            raise InvalidArgument("give at least one of status, assignee, note", field="status")
        if triage.status is None and triage.accepted_until is not None:
            raise InvalidArgument("accepted_until goes with status accepted_risk", field="accepted_until")
        for _ in range(SAVE_ATTEMPTS):
            stored = await self.get(viewer, record_id)
            at = self._clock()
            if triage.status is not None:
                stored.move_to(triage.status, viewer.user_id, at, triage.note, triage.accepted_until)
            if triage.assignee is not None:
                stored.assign(triage.assignee, viewer.user_id, at)
            if triage.status is None and triage.note.strip():
                stored.annotate(triage.note, viewer.user_id, at)
            if await self._repository.save(stored):
                await self.count_open(stored.org_id, stored.live, (stored.host,))
                return stored
        raise WriteContended("the vulnerability record kept changing", vulnerability_id=record_id[:64])

    async def list(self, viewer: Viewer, listing: Listing) -> Page:
        per_page = min(max(listing.per_page, 1), MAX_PER_PAGE)
        number = max(listing.page, 1)
        where = VulnerabilityFilter(
            viewer.org_id,
            viewer.live,
            severities=listing.severities,
            statuses=listing.statuses,
            kev=listing.kev,
            cve=listing.cve.upper(),
            host=listing.host,
            port=listing.port,
            type=listing.type,
            scan_id=listing.scan_id,
            min_key=micros(listing.first_seen_after) * 1000 if listing.first_seen_after else None,
            max_key=micros(listing.first_seen_before) * 1000 if listing.first_seen_before else None,
        )
        order = VulnerabilityOrder(listing.sort, listing.descending)
        after_key, skip = None, (number - 1) * per_page
        if listing.cursor:
            position = decode_cursor(listing.cursor, listing.sort)
            after_key, skip = position.get("k"), position.get("o", 0)
        rows, total = await self._repository.find(where, order, skip, per_page + 1, after_key)
        more, rows = len(rows) > per_page, rows[:per_page]
        next_cursor = ""
        if rows and more:
            state: dict[str, int | str] = {"s": listing.sort.value}
            if listing.sort is Sort.FIRST_SEEN:
                state["k"] = rows[-1][1]
            else:
                state["o"] = skip + len(rows)
            next_cursor = encode_cursor(state)
        return Page(
            items=[row[0] for row in rows],
            total=total,
            page=skip // per_page + 1 if after_key is None else number,
            per_page=per_page,
            pages=-(-total // per_page) if total else 0,
            next_cursor=next_cursor,
        )
