"""Incidents: decode, call threat-service, encode. Scopes are checked before a handler runs."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from rampart.common.v1 import common_pb2
from rampart.threat.v1 import threat_pb2
from rampart_gateway.api.incidents import views
from rampart_gateway.api.incidents.queries import ListIncidentsQuery
from rampart_gateway.api.incidents.schemas import CommentRequest, IncidentCreateRequest, IncidentUpdateRequest
from rampart_gateway.envelope import ok
from rampart_gateway.inputs import read_json, read_query
from rampart_gateway.operations import caller

TIMEOUT = 30.0


def status_value(word: str | None) -> threat_pb2.IncidentStatus.ValueType:
    return threat_pb2.IncidentStatus.Value(f"INCIDENT_STATUS_{word.upper()}") if word else 0  # type: ignore[return-value]


def severity_value(word: str | None) -> common_pb2.Severity.ValueType:
    return common_pb2.Severity.Value(f"SEVERITY_{word.upper()}") if word else 0  # type: ignore[return-value]


async def create_incident(request: Request) -> Response:
    principal = caller(request)
    body = await read_json(request, IncidentCreateRequest)
    reply = await request.state.clients.threat.CreateIncident(
        threat_pb2.CreateIncidentRequest(
            owner=principal.owner,
            title=body.title,
            severity=severity_value(body.severity),
            description=body.description,
            affected_systems=body.affected_systems,
            related_findings=body.related_findings,
            related_analyses=body.related_analyses,
            assignee=body.assignee,
        ),
        timeout=TIMEOUT,
    )
    return ok(request, views.incident(reply), status_code=201)


async def list_incidents(request: Request) -> Response:
    principal = caller(request)
    query = read_query(request, ListIncidentsQuery)
    created = common_pb2.TimeRange()
    if query.created_after:
        created.after.FromDatetime(query.created_after)
    if query.created_before:
        created.before.FromDatetime(query.created_before)
    reply = await request.state.clients.threat.ListIncidents(
        threat_pb2.ListIncidentsRequest(
            owner=principal.owner,
            status=status_value(query.status),
            severity=severity_value(query.severity),
            assignee=query.assignee,
            created=created,
            sort=threat_pb2.IncidentSort.Value(f"INCIDENT_SORT_{query.sort.upper()}"),
            ascending=query.order == "asc",
            page_size=query.per_page,
            page_token=query.cursor,
        ),
        timeout=TIMEOUT,
    )
    return ok(request, views.page(reply, query.per_page))


async def get_incident(request: Request) -> Response:
    reply = await request.state.clients.threat.GetIncident(
        threat_pb2.GetIncidentRequest(
            owner=caller(request).owner, incident_id=request.path_params["incident_id"]
        ),
        timeout=TIMEOUT,
    )
    return ok(request, views.incident(reply))


async def update_incident(request: Request) -> Response:
    principal = caller(request)
    body = await read_json(request, IncidentUpdateRequest)
    message = threat_pb2.UpdateIncidentRequest(
        owner=principal.owner,
        incident_id=request.path_params["incident_id"],
        status=status_value(body.status),
        severity=severity_value(body.severity),
        description=body.description or "",
        reason=body.reason,
        comment=body.comment,
    )
    if body.assignee is not None:
        message.assignee = body.assignee
    reply = await request.state.clients.threat.UpdateIncident(message, timeout=TIMEOUT)
    return ok(request, views.incident(reply))


async def comment_incident(request: Request) -> Response:
    principal = caller(request)
    body = await read_json(request, CommentRequest)
    reply = await request.state.clients.threat.AddIncidentComment(
        threat_pb2.AddIncidentCommentRequest(
            owner=principal.owner, incident_id=request.path_params["incident_id"], body=body.body
        ),
        timeout=TIMEOUT,
    )
    return ok(request, views.incident(reply), status_code=201)
