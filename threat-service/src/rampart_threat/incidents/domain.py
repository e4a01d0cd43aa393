"""Incidents: their lifecycle as methods, every change recorded in the timeline."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime

from rampart.lib.errors import FailedPrecondition, InvalidArgument, NotFound
from rampart_threat.assets.domain import Asset

SYSTEM_ACTOR = "rampart"  # the actor of automated changes (triage, rules)


class IncidentNotFound(NotFound):
    """No such incident in the caller's organisation (another tenant's is not found either)."""

    public_code = "INCIDENT_NOT_FOUND"


class TransitionNotAllowed(FailedPrecondition):
    """The incident's status cannot move to the one asked."""

    public_code = "INCIDENT_TRANSITION_NOT_ALLOWED"


class Status(enum.Enum):
    OPEN = "open"
    TRIAGED = "triaged"
    INVESTIGATING = "investigating"
    CONTAINED = "contained"
    RESOLVED = "resolved"
    CLOSED = "closed"


class Severity(enum.Enum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        """Orders severities: critical is 4, low is 1."""
        return list(Severity).index(self) + 1


# The lifecycle: each status moves forward one step; a resolved incident may be reopened
# (back to investigating) until it is closed; closed is final.
NEXT: dict[Status, frozenset[Status]] = {
    Status.OPEN: frozenset({Status.TRIAGED}),
    Status.TRIAGED: frozenset({Status.INVESTIGATING}),
    Status.INVESTIGATING: frozenset({Status.CONTAINED}),
    Status.CONTAINED: frozenset({Status.RESOLVED}),
    Status.RESOLVED: frozenset({Status.CLOSED, Status.INVESTIGATING}),
    Status.CLOSED: frozenset(),
}


class Change(enum.Enum):
    CREATED = "created"
    TRIAGED = "triaged"
    STATUS = "status"
    SEVERITY = "severity"
    ASSIGNEE = "assignee"
    COMMENT = "comment"
    DESCRIPTION = "description"


@dataclass(frozen=True)
class TimelineEntry:
    """One change: what, by whom, from which value to which, why and when."""

    kind: Change
    actor: str
    at: datetime
    before: str = ""
    after: str = ""
    reason: str = ""


@dataclass(frozen=True)
class Comment:
    comment_id: str
    author: str
    body: str
    created_at: datetime


@dataclass(frozen=True)
class LinkedAsset:
    asset: Asset
    matched: str  # the affected_systems entry that resolved to it


@dataclass(frozen=True)
class Triage:
    """What automated triage found at creation."""

    assets: tuple[LinkedAsset, ...] = ()
    unresolved: tuple[str, ...] = ()
    priority: str = ""
    due_at: datetime | None = None
    next_steps: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass
class Incident:
    """A security incident of one organisation; state changes go through its methods."""

    incident_id: str
    org_id: str
    user_id: str
    title: str
    severity: Severity
    description: str
    created_at: datetime
    affected_systems: tuple[str, ...] = ()
    related_findings: tuple[str, ...] = ()
    related_analyses: tuple[str, ...] = ()
    status: Status = Status.OPEN
    assignee: str = ""
    rule_id: str = ""
    triage: Triage = field(default_factory=Triage)
    comments: list[Comment] = field(default_factory=list)
    timeline: list[TimelineEntry] = field(default_factory=list)
    updated_at: datetime | None = None
    version: int = 0  # bumped by every stored change (optimistic concurrency)

    @classmethod
    def open(
        cls,
        incident_id: str,
        org_id: str,
        actor: str,
        at: datetime,
        *,
        title: str,
        severity: Severity,
        description: str = "",
        affected_systems: tuple[str, ...] = (),
        related_findings: tuple[str, ...] = (),
        related_analyses: tuple[str, ...] = (),
        assignee: str = "",
        rule_id: str = "",
    ) -> Incident:
        """A new incident, with its creation as the first timeline entry."""
        incident = cls(
            incident_id,
            org_id,
            actor,
            title=title.strip(),
            severity=severity,
            description=description,
            created_at=at,
            updated_at=at,
            affected_systems=affected_systems,
            related_findings=related_findings,
            related_analyses=related_analyses,
            assignee=assignee,
            rule_id=rule_id,
        )
        if not incident.title.strip():
            raise InvalidArgument("title is required", field="title")
        incident.timeline.append(
            TimelineEntry(Change.CREATED, actor, at, after=incident.status.value, reason=incident.rule_id)
        )
        return incident

    def record_triage(self, triage: Triage, at: datetime) -> None:
        self.triage = triage
        linked = ", ".join(link.asset.host for link in triage.assets) or "no known asset"
        self._log(TimelineEntry(Change.TRIAGED, SYSTEM_ACTOR, at, after=f"{triage.priority}; {linked}"))

    # ---- status -----------------------------------------------------------------------
    def triage_done(self, actor: str, at: datetime, reason: str = "") -> None:
        self._move(Status.TRIAGED, actor, at, reason)

    def investigate(self, actor: str, at: datetime, reason: str = "") -> None:
        self._move(Status.INVESTIGATING, actor, at, reason)

    def contain(self, actor: str, at: datetime, reason: str = "") -> None:
        self._move(Status.CONTAINED, actor, at, reason)

    def resolve(self, actor: str, at: datetime, reason: str = "") -> None:
        self._move(Status.RESOLVED, actor, at, reason)

    def close(self, actor: str, at: datetime, reason: str = "") -> None:
        self._move(Status.CLOSED, actor, at, reason)

    def reopen(self, actor: str, at: datetime, reason: str = "") -> None:
        if self.status is not Status.RESOLVED:
            raise self._refused(Status.INVESTIGATING)
        self._move(Status.INVESTIGATING, actor, at, reason)

    def move_to(self, status: Status, actor: str, at: datetime, reason: str = "") -> None:
        """The method for ``status`` (the API names the target, the domain names the step)."""
        steps = {
            Status.TRIAGED: self.triage_done,
            Status.INVESTIGATING: self.reopen if self.status is Status.RESOLVED else self.investigate,
            Status.CONTAINED: self.contain,
            Status.RESOLVED: self.resolve,
            Status.CLOSED: self.close,
        }
        if status not in steps:
            raise self._refused(status)
        steps[status](actor, at, reason)

    def _move(self, target: Status, actor: str, at: datetime, reason: str) -> None:
        if target not in NEXT[self.status]:
            raise self._refused(target)
        before, self.status = self.status, target
        self._log(TimelineEntry(Change.STATUS, actor, at, before.value, target.value, reason))

    def _refused(self, target: Status) -> TransitionNotAllowed:
        allowed = sorted(status.value for status in NEXT[self.status])
        return TransitionNotAllowed(
            f"an incident that is {self.status.value} cannot become {target.value}",
            status=self.status.value,
            requested=target.value,
            allowed=allowed,
        )

    # ---- other fields -------------------------------------------------------------------
    def change_severity(self, severity: Severity, actor: str, at: datetime, reason: str) -> None:
        if severity is self.severity:
            return
        if not reason.strip():
            raise InvalidArgument("a severity change needs a reason", field="reason")
        self._ensure_open_for_edits()
        before, self.severity = self.severity, severity
        self._log(TimelineEntry(Change.SEVERITY, actor, at, before.value, severity.value, reason))

    def assign(self, assignee: str, actor: str, at: datetime, reason: str = "") -> None:
        if assignee == self.assignee:
            return
        self._ensure_open_for_edits()
        before, self.assignee = self.assignee, assignee
        self._log(TimelineEntry(Change.ASSIGNEE, actor, at, before, assignee, reason))

    def describe(self, description: str, actor: str, at: datetime, reason: str = "") -> None:
        if description == self.description:
            return
        self._ensure_open_for_edits()
        self.description = description
        self._log(TimelineEntry(Change.DESCRIPTION, actor, at, reason=reason))

    def comment(self, comment: Comment) -> None:
        if not comment.body.strip():
            raise InvalidArgument("a comment needs a body", field="body")
        self.comments.append(comment)
        self._log(TimelineEntry(Change.COMMENT, comment.author, comment.created_at, after=comment.comment_id))

    def _ensure_open_for_edits(self) -> None:
        if self.status is Status.CLOSED:
            raise TransitionNotAllowed("a closed incident cannot change", status=self.status.value)

    def _log(self, entry: TimelineEntry) -> None:
        self.timeline.append(entry)
        self.updated_at = entry.at
