"""Incident use cases: create (with automated triage), read, list, change, comment."""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from rampart.lib.errors import AlreadyExists, InvalidArgument
from rampart.lib.ids import new_id, utcnow
from rampart_threat.assets.repository import AssetRepository
from rampart_threat.incidents.domain import (
    Comment,
    Incident,
    IncidentNotFound,
    Severity,
    Status,
    TimelineEntry,
)
from rampart_threat.incidents.notify import Notice, Notifier
from rampart_threat.incidents.repository import (
    SORT_FIELDS,
    IncidentFilter,
    IncidentOrder,
    IncidentRepository,
    micros,
)
from rampart_threat.incidents.triage import SlaTable, system_query, triage

MAX_PAGE = 100
DEFAULT_PAGE = 20
MAX_SYSTEMS = 100
MAX_TEXT = 10_000
MAX_TITLE = 200
SAVE_ATTEMPTS = 5


@dataclass(frozen=True)
class Actor:
    """Who acts: the organisation every read and write is scoped to, and the user."""

    org_id: str
    user_id: str


@dataclass(frozen=True)
class IncidentDraft:
    title: str
    severity: Severity
    description: str = ""
    affected_systems: tuple[str, ...] = ()
    related_findings: tuple[str, ...] = ()
    related_analyses: tuple[str, ...] = ()
    assignee: str = ""


@dataclass(frozen=True)
class IncidentUpdate:
    """What to change; None leaves a field as it is."""

    status: Status | None = None
    severity: Severity | None = None
    description: str | None = None
    assignee: str | None = None
    reason: str = ""
    comment: str = ""


@dataclass(frozen=True)
class IncidentListing:
    status: Status | None = None
    severity: Severity | None = None
    assignee: str = ""
    created_after: datetime | None = None
    created_before: datetime | None = None
    sort: str = "created_at"
    ascending: bool = False
    page_size: int = 0
    page_token: str = ""


@dataclass
class IncidentPage:
    incidents: list[Incident]
    next_page_token: str
    total: int


@dataclass
class IncidentService:
    """Use cases on incidents; every read and write is scoped by the actor's organisation."""

    incidents: IncidentRepository
    assets: AssetRepository
    sla: SlaTable
    notifier: Notifier
    now: Callable[[], datetime] = field(default=utcnow)

    async def create(
        self, actor: Actor, draft: IncidentDraft, rule_id: str = "", incident_id: str = ""
    ) -> Incident:
        """Open an incident, triage it, store it and announce it.

        A given ``incident_id`` that exists already raises ``AlreadyExists`` (a rule's
        redelivered event); a person's incident gets a fresh id.
        """
        require_actor(actor)
        check_draft(draft)
        at = self.now()
        incident = Incident.open(
            incident_id or new_id("inc"),
            actor.org_id,
            actor.user_id,
            at,
            title=draft.title,
            severity=draft.severity,
            description=draft.description,
            affected_systems=draft.affected_systems,
            related_findings=draft.related_findings,
            related_analyses=draft.related_analyses,
            assignee=draft.assignee,
            rule_id=rule_id,
        )
        wanted = system_query(draft.affected_systems)
        known = await self.assets.find(actor.org_id, wanted.asset_ids, wanted.hosts, bool(wanted.networks))
        incident.record_triage(triage(incident, known, self.sla), at)
        if not await self.incidents.add(incident, micros(at) * 1000 + secrets.randbelow(1000)):
            raise AlreadyExists("incident exists", incident_id=incident.incident_id)
        await self.notifier.notify(Notice.created(incident))
        return incident

    async def get(self, actor: Actor, incident_id: str) -> Incident:
        require_actor(actor)
        found = await self.incidents.get(actor.org_id, incident_id)
        if found is None:
            raise IncidentNotFound("incident not found", incident_id=incident_id)
        return found

    async def update(self, actor: Actor, incident_id: str, update: IncidentUpdate) -> Incident:
        """Apply the changes asked, each as a timeline entry, then announce them once."""
        if update.comment and len(update.comment) > MAX_TEXT:
            raise InvalidArgument("comment is too long", field="comment", limit=MAX_TEXT)
        if update.description is not None and len(update.description) > MAX_TEXT:
            raise InvalidArgument("description is too long", field="description", limit=MAX_TEXT)
        return await self._change(
            actor, incident_id, lambda incident, at: apply_update(incident, actor, update, at)
        )

    async def comment(self, actor: Actor, incident_id: str, body: str) -> Incident:
        if len(body) > MAX_TEXT:
            raise InvalidArgument("comment is too long", field="body", limit=MAX_TEXT)
        return await self._change(
            actor,
            incident_id,
            lambda incident, at: incident.comment(Comment(new_id("cmt", 12), actor.user_id, body, at)),
        )

    async def _change(
        self, actor: Actor, incident_id: str, change: Callable[[Incident, datetime], None]
    ) -> Incident:
        for _ in range(SAVE_ATTEMPTS):  # another writer won the version race: reload, reapply
            incident = await self.get(actor, incident_id)
            before = len(incident.timeline)
            change(incident, self.now())
            new = incident.timeline[before:]
            if not new:
                return incident  # nothing changed: no write, no event
            if await self.incidents.save(incident):
                await self.notifier.notify(Notice.updated(incident, tuple(new)))
                return incident
        raise AlreadyExists("the incident keeps changing; retry", incident_id=incident_id)

    async def list(self, actor: Actor, listing: IncidentListing) -> IncidentPage:
        require_actor(actor)
        if listing.sort not in SORT_FIELDS:
            raise InvalidArgument(f"sort must be one of {', '.join(SORT_FIELDS)}", field="sort")
        size = min(max(listing.page_size or DEFAULT_PAGE, 1), MAX_PAGE)
        where = IncidentFilter(
            actor.org_id,
            status=listing.status,
            severity=listing.severity,
            assignee=listing.assignee,
            min_key=micros(listing.created_after) * 1000 if listing.created_after else None,
            max_key=micros(listing.created_before) * 1000 if listing.created_before else None,
        )
        order = IncidentOrder(listing.sort, descending=not listing.ascending)
        keyset = listing.sort == "created_at"
        token = decode_token(listing.page_token, keyset)
        skip, after = (0, token) if keyset else (token or 0, None)
        rows, total = await self.incidents.find(where, order, skip, size + 1, after_key=after)
        more = len(rows) > size
        rows = rows[:size]
        next_token = ""
        if more and rows:
            next_token = encode_token({"k": rows[-1][1]} if keyset else {"o": skip + size})
        return IncidentPage([incident for incident, _ in rows], next_token, total)


def apply_update(incident: Incident, actor: Actor, update: IncidentUpdate, at: datetime) -> None:
    who, why = actor.user_id, update.reason
    if update.severity is not None:
        incident.change_severity(update.severity, who, at, why)
    if update.assignee is not None:
        incident.assign(update.assignee, who, at, why)
    if update.description is not None:
        incident.describe(update.description, who, at, why)
    if update.comment:
        incident.comment(Comment(new_id("cmt", 12), who, update.comment, at))
    if update.status is not None and update.status is not incident.status:
        incident.move_to(update.status, who, at, why)


def require_actor(actor: Actor) -> None:
    if not actor.org_id:
        raise InvalidArgument("owner is required", field="owner")


def check_draft(draft: IncidentDraft) -> None:
    if not draft.title.strip() or len(draft.title) > MAX_TITLE:
        raise InvalidArgument(f"title must be 1-{MAX_TITLE} characters", field="title")
    if len(draft.description) > MAX_TEXT:
        raise InvalidArgument("description is too long", field="description", limit=MAX_TEXT)
    for name in ("affected_systems", "related_findings", "related_analyses"):
        values = getattr(draft, name)
        if len(values) > MAX_SYSTEMS or any(not value.strip() or len(value) > 255 for value in values):
            raise InvalidArgument(
                f"{name}: at most {MAX_SYSTEMS} non-empty entries of 255 characters", field=name
            )


def encode_token(value: dict[str, int]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def decode_token(token: str, keyset: bool) -> int | None:
    """The key (creation order) or offset a page token carries; a forged one is refused."""
    if not token:
        return None
    try:
        raw = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        value = raw["k" if keyset else "o"]
    except (ValueError, TypeError, KeyError):
        value = None
    if type(value) is not int or not 0 <= value < 2**63:
        raise InvalidArgument("page_token is not valid", field="page_token")
    return value


__all__ = ["Actor", "IncidentDraft", "IncidentListing", "IncidentService", "IncidentUpdate", "TimelineEntry"]
