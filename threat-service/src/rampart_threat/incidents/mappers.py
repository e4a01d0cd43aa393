"""Between the incident protobuf messages and the incident domain."""

from __future__ import annotations

from rampart.common.v1 import common_pb2
from rampart.lib.errors import InvalidArgument
from rampart.lib.ids import from_timestamp, to_timestamp, utcnow
from rampart.threat.v1 import threat_pb2
from rampart_threat.incidents.domain import Change, Incident, Severity, Status, TimelineEntry
from rampart_threat.incidents.notify import Notice
from rampart_threat.incidents.rules import Verdict
from rampart_threat.incidents.service import Actor, IncidentDraft, IncidentListing, IncidentUpdate

STATUS_TO_PROTO = {
    Status.OPEN: threat_pb2.INCIDENT_STATUS_OPEN,
    Status.TRIAGED: threat_pb2.INCIDENT_STATUS_TRIAGED,
    Status.INVESTIGATING: threat_pb2.INCIDENT_STATUS_INVESTIGATING,
    Status.CONTAINED: threat_pb2.INCIDENT_STATUS_CONTAINED,
    Status.RESOLVED: threat_pb2.INCIDENT_STATUS_RESOLVED,
    Status.CLOSED: threat_pb2.INCIDENT_STATUS_CLOSED,
}
STATUS_FROM_PROTO = {value: status for status, value in STATUS_TO_PROTO.items()}
SEVERITY_TO_PROTO = {
    Severity.LOW: common_pb2.SEVERITY_LOW,
    Severity.MEDIUM: common_pb2.SEVERITY_MEDIUM,
    Severity.HIGH: common_pb2.SEVERITY_HIGH,
    Severity.CRITICAL: common_pb2.SEVERITY_CRITICAL,
}
SEVERITY_FROM_PROTO = {value: severity for severity, value in SEVERITY_TO_PROTO.items()}
CHANGE_TO_PROTO = {
    change: threat_pb2.IncidentChangeKind.Value(f"INCIDENT_CHANGE_KIND_{change.name}") for change in Change
}
SORT_FROM_PROTO = {
    threat_pb2.INCIDENT_SORT_UNSPECIFIED: "created_at",
    threat_pb2.INCIDENT_SORT_CREATED_AT: "created_at",
    threat_pb2.INCIDENT_SORT_SEVERITY: "severity",
    threat_pb2.INCIDENT_SORT_STATUS: "status",
    threat_pb2.INCIDENT_SORT_DUE_AT: "due_at",
}


def actor(owner: common_pb2.Owner) -> Actor:
    return Actor(owner.org_id, owner.user_id)


def severity(value: int, required: bool) -> Severity | None:
    if value == common_pb2.SEVERITY_UNSPECIFIED and not required:
        return None
    if value not in SEVERITY_FROM_PROTO:
        raise InvalidArgument("severity must be low, medium, high or critical", field="severity")
    return SEVERITY_FROM_PROTO[common_pb2.Severity.ValueType(value)]


def status(value: int) -> Status | None:
    if value == threat_pb2.INCIDENT_STATUS_UNSPECIFIED:
        return None
    if value not in STATUS_FROM_PROTO:
        raise InvalidArgument("unknown status", field="status")
    return STATUS_FROM_PROTO[threat_pb2.IncidentStatus.ValueType(value)]


def draft(request: threat_pb2.CreateIncidentRequest) -> IncidentDraft:
    level = severity(request.severity, required=True)
    assert level is not None
    return IncidentDraft(
        title=request.title,
        severity=level,
        description=request.description,
        affected_systems=tuple(request.affected_systems),
        related_findings=tuple(request.related_findings),
        related_analyses=tuple(request.related_analyses),
        assignee=request.assignee,
    )


def update(request: threat_pb2.UpdateIncidentRequest) -> IncidentUpdate:
    return IncidentUpdate(
        status=status(request.status),
        severity=severity(request.severity, required=False),
        description=request.description or None,
        assignee=request.assignee if request.HasField("assignee") else None,
        reason=request.reason,
        comment=request.comment,
    )


def listing(request: threat_pb2.ListIncidentsRequest) -> IncidentListing:
    created = request.created
    return IncidentListing(
        status=status(request.status),
        severity=severity(request.severity, required=False),
        assignee=request.assignee,
        created_after=from_timestamp(created.after) if created.HasField("after") else None,
        created_before=from_timestamp(created.before) if created.HasField("before") else None,
        sort=SORT_FROM_PROTO.get(request.sort, ""),
        ascending=request.ascending,
        page_size=request.page_size,
        page_token=request.page_token,
    )


def change_message(entry: TimelineEntry) -> threat_pb2.IncidentChange:
    return threat_pb2.IncidentChange(
        kind=CHANGE_TO_PROTO[entry.kind],
        actor=entry.actor,
        from_value=entry.before,
        to_value=entry.after,
        reason=entry.reason,
        at=to_timestamp(entry.at),
    )


def incident_message(incident: Incident) -> threat_pb2.Incident:
    triage = incident.triage
    return threat_pb2.Incident(
        incident_id=incident.incident_id,
        owner=common_pb2.Owner(org_id=incident.org_id, user_id=incident.user_id),
        title=incident.title,
        severity=SEVERITY_TO_PROTO[incident.severity],
        description=incident.description,
        affected_systems=list(incident.affected_systems),
        status=STATUS_TO_PROTO[incident.status],
        created_at=to_timestamp(incident.created_at),
        updated_at=to_timestamp(incident.updated_at),
        assignee=incident.assignee,
        related_findings=list(incident.related_findings),
        related_analyses=list(incident.related_analyses),
        triage=threat_pb2.IncidentTriage(
            assets=[
                threat_pb2.LinkedAsset(
                    asset_id=link.asset.asset_id,
                    host=link.asset.host,
                    open_ports=list(link.asset.open_ports),
                    last_scan_id=link.asset.last_scan_id,
                    last_seen=to_timestamp(link.asset.last_seen),
                    matched=link.matched,
                )
                for link in triage.assets
            ],
            unresolved_systems=list(triage.unresolved),
            priority=triage.priority,
            due_at=to_timestamp(triage.due_at),
            next_steps=list(triage.next_steps),
            notes=list(triage.notes),
        ),
        comments=[
            threat_pb2.IncidentComment(
                comment_id=c.comment_id, author=c.author, body=c.body, created_at=to_timestamp(c.created_at)
            )
            for c in incident.comments
        ],
        timeline=[change_message(entry) for entry in incident.timeline],
        rule_id=incident.rule_id,
    )


def incident_event(notice: Notice) -> threat_pb2.IncidentEvent:
    """The broker event of a notice; ``change`` is the newest timeline entry it brought."""
    return threat_pb2.IncidentEvent(
        event_id=notice.event_id,
        type=notice.subject,
        incident=incident_message(notice.incident),
        change=change_message(notice.changes[-1]) if notice.changes else None,
        occurred_at=to_timestamp(notice.changes[-1].at if notice.changes else utcnow()),
    )


KIND_NAMES = {
    value: name.removeprefix("INDICATOR_KIND_").lower() for name, value in threat_pb2.IndicatorKind.items()
}


def verdict(event: threat_pb2.AnalysisCompleted) -> Verdict:
    """A decoded AnalysisCompleted as the rules read it."""
    return Verdict(
        event_id=event.event_id,
        org_id=event.owner.org_id,
        user_id=event.owner.user_id,
        analysis_id=event.analysis_id,
        indicator=event.indicator,
        kind=KIND_NAMES.get(event.kind, "unspecified"),
        classification=event.classification,
        risk_score=event.risk_score,
    )


def analysis_completed(found: Verdict) -> threat_pb2.AnalysisCompleted:
    """The event the analysis side publishes on ``threat.analyses.completed`` (the inverse of ``verdict``)."""
    kinds = {name: value for value, name in KIND_NAMES.items()}
    return threat_pb2.AnalysisCompleted(
        event_id=found.event_id,
        owner=common_pb2.Owner(org_id=found.org_id, user_id=found.user_id),
        analysis_id=found.analysis_id,
        indicator=found.indicator,
        kind=kinds.get(found.kind, threat_pb2.INDICATOR_KIND_UNSPECIFIED),
        classification=found.classification,
        risk_score=found.risk_score,
        occurred_at=to_timestamp(utcnow()),
    )
