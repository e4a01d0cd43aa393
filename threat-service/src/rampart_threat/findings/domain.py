"""The vulnerability record: one per finding fingerprint, its sightings, its lifecycle and its history.

Statuses (docs/findings-lifecycle.md): ``open`` → ``confirmed`` / ``false_positive`` /
``accepted_risk`` (until a date, with a reason) / ``resolved``; a scan that covers the record's
host and port without seeing it resolves it ("fixed"); seen again after that it is ``reopened``.
``false_positive`` and an unexpired ``accepted_risk`` survive rescans. Every change is a history entry.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from rampart.lib.errors import FailedPrecondition, InvalidArgument, NotFound
from rampart_threat.findings.model import Confidence, Finding, FindingType, Severity

SYSTEM_ACTOR = "rampart"  # the actor of changes a scan makes
ID_PREFIX = "vuln_"
MAX_SIGHTINGS = 50  # the scans a record lists (newest first); the count goes on
FIXED = "fixed"  # the resolution a scan gives: covered, no longer seen


def vulnerability_id(fingerprint: str) -> str:
    """The record's public id, stable for a fingerprint (the FindingNotice carries it)."""
    return ID_PREFIX + fingerprint


class VulnerabilityNotFound(NotFound):
    """No such record for the caller's organisation and world (another tenant's is not found either)."""

    public_code = "VULNERABILITY_NOT_FOUND"


class TransitionNotAllowed(FailedPrecondition):
    """The record's status cannot move to the one asked; the details list the allowed ones."""

    public_code = "VULNERABILITY_TRANSITION_NOT_ALLOWED"


class Status(StrEnum):
    OPEN = "open"
    CONFIRMED = "confirmed"
    FALSE_POSITIVE = "false_positive"
    ACCEPTED_RISK = "accepted_risk"
    RESOLVED = "resolved"
    REOPENED = "reopened"  # set by a scan only: seen again after it was resolved


_TRIAGE = frozenset({Status.CONFIRMED, Status.FALSE_POSITIVE, Status.ACCEPTED_RISK, Status.RESOLVED})
# What a person may move a record to, from each status (a scan's moves are the methods below).
ALLOWED: Mapping[Status, frozenset[Status]] = {
    Status.OPEN: _TRIAGE,
    Status.REOPENED: _TRIAGE,
    Status.CONFIRMED: frozenset({Status.FALSE_POSITIVE, Status.ACCEPTED_RISK, Status.RESOLVED}),
    Status.FALSE_POSITIVE: frozenset({Status.OPEN}),
    Status.ACCEPTED_RISK: frozenset({Status.OPEN, Status.CONFIRMED, Status.ACCEPTED_RISK, Status.RESOLVED}),
    Status.RESOLVED: frozenset({Status.OPEN}),
}
ACTIVE = frozenset(
    {Status.OPEN, Status.REOPENED, Status.CONFIRMED}
)  # a covered scan not seeing them resolves


class Change(StrEnum):
    CREATED = "created"
    STATUS = "status"
    ASSIGNEE = "assignee"
    NOTE = "note"


@dataclass(frozen=True)
class HistoryEntry:
    """One change: what, by whom, when, from which value to which, why, and the scan behind it."""

    kind: Change
    actor: str
    at: datetime
    before: str = ""
    after: str = ""
    note: str = ""
    scan_id: str = ""


@dataclass(frozen=True)
class SightingEntry:
    scan_id: str
    at: datetime


@dataclass(frozen=True)
class Observation:
    """What a finding says about the problem; the newest sighting's observation is the record's."""

    type: FindingType
    subject: str
    title: str
    severity: Severity
    description: str = ""
    remediation: str = ""
    cvss_score: float | None = None
    cvss_vector: str = ""
    cwe: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    evidence: Mapping[str, str] = field(default_factory=dict)
    confidence: Confidence = Confidence.CONFIRMED
    kev: bool = False
    epss: float | None = None
    priority: str = ""
    service: str = ""
    cpe: str = ""

    @classmethod
    def of(cls, finding: Finding) -> Observation:
        return cls(
            finding.type,
            finding.subject,
            finding.title,
            finding.severity,
            finding.description,
            finding.remediation,
            finding.cvss_score,
            finding.cvss_vector,
            tuple(finding.cwe),
            tuple(finding.references),
            dict(finding.evidence),
            finding.confidence,
            finding.kev,
            finding.epss,
            finding.priority,
            finding.service,
            finding.cpe,
        )

    @property
    def cve(self) -> str:
        return self.subject if self.type is FindingType.VULNERABLE_SERVICE else ""

    @property
    def rule_id(self) -> str:
        return "" if self.type is FindingType.VULNERABLE_SERVICE else self.subject


@dataclass
class Vulnerability:
    """One problem on one asset and port of one organisation (live or test), however many scans saw it."""

    vulnerability_id: str
    fingerprint: str
    org_id: str
    live: bool
    host: str
    port: int
    protocol: str
    observation: Observation
    first_seen: datetime
    last_seen: datetime
    first_scan_id: str
    last_scan_id: str
    status: Status = Status.OPEN
    sightings: list[SightingEntry] = field(default_factory=list)  # newest first, at most MAX_SIGHTINGS
    sightings_total: int = 0
    resolution: str = ""
    resolved_scan_id: str = ""
    accepted_until: datetime | None = None
    assignee: str = ""
    history: list[HistoryEntry] = field(default_factory=list)
    updated_at: datetime | None = None
    version: int = 0  # bumped by every stored change (optimistic concurrency)

    @classmethod
    def first(cls, finding: Finding, at: datetime) -> Vulnerability:
        """The record a fingerprint's first finding creates, its creation the first history entry."""
        found = cls(
            vulnerability_id(finding.fingerprint),
            finding.fingerprint,
            finding.org_id,
            finding.live,
            finding.host,
            finding.port,
            finding.protocol,
            Observation.of(finding),
            first_seen=finding.detected_at,
            last_seen=finding.detected_at,
            first_scan_id=finding.scan_id,
            last_scan_id=finding.scan_id,
            sightings=[SightingEntry(finding.scan_id, finding.detected_at)],
            sightings_total=1,
            updated_at=at,
        )
        found._log(
            HistoryEntry(Change.CREATED, SYSTEM_ACTOR, at, "", Status.OPEN.value, scan_id=finding.scan_id)
        )
        return found

    # ---- what scans do -----------------------------------------------------------------
    def saw_scan(self, scan_id: str) -> bool:
        return any(s.scan_id == scan_id for s in self.sightings)

    def sight(self, finding: Finding, at: datetime) -> bool:
        """Record one more scan's finding; False when this scan was recorded already (a redelivery).

        The newest finding's observation (evidence, scores) becomes the record's; a resolved record
        is reopened; an accepted risk past its date is open again. False positives stay as they are.
        """
        if self.saw_scan(finding.scan_id):
            return False
        self.sightings.insert(0, SightingEntry(finding.scan_id, finding.detected_at))
        self.sightings.sort(key=lambda s: s.at, reverse=True)
        del self.sightings[MAX_SIGHTINGS:]
        self.sightings_total += 1
        if finding.detected_at >= self.last_seen:
            self.last_seen, self.last_scan_id = finding.detected_at, finding.scan_id
            self.observation = Observation.of(finding)
        if finding.detected_at < self.first_seen:
            self.first_seen, self.first_scan_id = finding.detected_at, finding.scan_id
        scan = finding.scan_id
        if self.status is Status.RESOLVED and self.resolved_scan_id == scan:
            # the scan settled before this finding of its own arrived: undo what the settle did
            self._system_move(
                self._status_before_resolution(), at, f"seen by scan {scan} after it settled", scan
            )
        elif self.status is Status.RESOLVED:
            self._system_move(Status.REOPENED, at, f"seen again by scan {scan}", scan)
        elif self.status is Status.ACCEPTED_RISK and self.acceptance_expired(at):
            until = self.accepted_until.date().isoformat() if self.accepted_until else ""
            self._system_move(
                Status.OPEN, at, f"risk acceptance expired on {until}; seen by scan {scan}", scan
            )
        self.updated_at = at
        return True

    def _status_before_resolution(self) -> Status:
        for entry in reversed(self.history):
            if entry.kind is Change.STATUS and entry.after == Status.RESOLVED.value:
                before = Status(entry.before)
                return before if before in ACTIVE else Status.OPEN
        return Status.OPEN

    def acceptance_expired(self, at: datetime) -> bool:
        return self.accepted_until is not None and self.accepted_until <= at

    def resolve_unseen(self, scan_id: str, at: datetime) -> bool:
        """A scan covered the record's host and port and did not see it: fixed. False when nothing changes
        (already resolved, a false positive, an unexpired accepted risk, or this scan did see it)."""
        if self.saw_scan(scan_id):
            return False
        expired_acceptance = self.status is Status.ACCEPTED_RISK and self.acceptance_expired(at)
        if self.status not in ACTIVE and not expired_acceptance:
            return False
        self._system_move(Status.RESOLVED, at, f"{FIXED}: not seen by scan {scan_id}", scan_id)
        self.resolution, self.resolved_scan_id = FIXED, scan_id
        return True

    def _system_move(self, target: Status, at: datetime, note: str, scan_id: str) -> None:
        before, self.status = self.status, target
        if target is not Status.ACCEPTED_RISK:
            self.accepted_until = None
        if target is not Status.RESOLVED:
            self.resolution, self.resolved_scan_id = "", ""
        self._log(HistoryEntry(Change.STATUS, SYSTEM_ACTOR, at, before.value, target.value, note, scan_id))

    # ---- what people do ----------------------------------------------------------------
    def move_to(
        self, target: Status, actor: str, at: datetime, note: str = "", accepted_until: datetime | None = None
    ) -> None:
        """A person's triage: the moves in ``ALLOWED``; an accepted risk needs a future date and a reason."""
        if target not in ALLOWED[self.status]:
            allowed = sorted(status.value for status in ALLOWED[self.status])
            raise TransitionNotAllowed(
                f"a vulnerability that is {self.status.value} cannot become {target.value}",
                status=self.status.value,
                requested=target.value,
                allowed=allowed,
            )
        if target is Status.ACCEPTED_RISK:
            if accepted_until is None or accepted_until <= at:
                raise InvalidArgument(
                    "accepted_risk needs accepted_until in the future", field="accepted_until"
                )
            if not note.strip():
                raise InvalidArgument("accepted_risk needs a reason in note", field="note")
        elif accepted_until is not None:
            raise InvalidArgument("accepted_until goes with status accepted_risk", field="accepted_until")
        before, self.status = self.status, target
        self.accepted_until = accepted_until
        self.resolution = "" if target is not Status.RESOLVED else "manual"
        self.resolved_scan_id = ""
        if accepted_until is not None:
            note = f"{note} (accepted until {accepted_until.date().isoformat()})"
        self._log(HistoryEntry(Change.STATUS, actor, at, before.value, target.value, note))

    def assign(self, assignee: str, actor: str, at: datetime, note: str = "") -> None:
        if assignee == self.assignee:
            return
        before, self.assignee = self.assignee, assignee
        self._log(HistoryEntry(Change.ASSIGNEE, actor, at, before, assignee, note))

    def annotate(self, note: str, actor: str, at: datetime) -> None:
        if not note.strip():
            raise InvalidArgument("note is empty", field="note")
        self._log(HistoryEntry(Change.NOTE, actor, at, note=note))

    def _log(self, entry: HistoryEntry) -> None:
        self.history.append(entry)
        self.updated_at = entry.at
