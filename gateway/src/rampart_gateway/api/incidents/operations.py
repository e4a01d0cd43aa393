"""The incident operations: routes and OpenAPI entries, each with the scope it enforces."""

from __future__ import annotations

from starlette.routing import BaseRoute

from rampart_gateway.api.incidents import schemas
from rampart_gateway.api.incidents.queries import ListIncidentsQuery
from rampart_gateway.api.incidents.routes import (
    comment_incident,
    create_incident,
    get_incident,
    list_incidents,
    update_incident,
)
from rampart_gateway.operations import Operation

PATH = "/api/v1/incidents/{incident_id}"

OPERATIONS = (
    Operation(
        "POST",
        "/api/v1/incidents",
        create_incident,
        "Open an incident; automated triage links known assets and sets priority and due date",
        "incidents",
        scope="threats:write",
        body=schemas.IncidentCreateRequest,
        response=schemas.IncidentView,
        status=201,
        errors=("VALIDATION_ERROR",),
    ),
    Operation(
        "GET",
        "/api/v1/incidents",
        list_incidents,
        "List your incidents (filters, sort, cursor)",
        "incidents",
        scope="threats:read",
        response=schemas.IncidentList,
        query=ListIncidentsQuery,
        errors=("VALIDATION_ERROR",),
    ),
    Operation(
        "GET",
        PATH,
        get_incident,
        "An incident with its triage, comments and timeline",
        "incidents",
        scope="threats:read",
        response=schemas.IncidentView,
        errors=("INCIDENT_NOT_FOUND",),
    ),
    Operation(
        "PATCH",
        PATH,
        update_incident,
        "Change status (open → triaged → investigating → contained → resolved → closed), severity, assignee",
        "incidents",
        scope="threats:write",
        body=schemas.IncidentUpdateRequest,
        response=schemas.IncidentView,
        errors=("INCIDENT_NOT_FOUND", "INCIDENT_TRANSITION_NOT_ALLOWED", "VALIDATION_ERROR"),
    ),
    Operation(
        "POST",
        f"{PATH}/comments",
        comment_incident,
        "Add a comment (it joins the timeline)",
        "incidents",
        scope="threats:write",
        body=schemas.CommentRequest,
        response=schemas.IncidentView,
        status=201,
        errors=("INCIDENT_NOT_FOUND", "INCIDENT_TRANSITION_NOT_ALLOWED", "VALIDATION_ERROR"),
    ),
)

ROUTES: tuple[BaseRoute, ...] = ()
