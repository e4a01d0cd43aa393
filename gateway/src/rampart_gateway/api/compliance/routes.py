"""Compliance posture and controls: decode, call report-service, encode.

Scopes are checked before a handler runs (``operations.Operation``).
"""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import Response

from rampart.common.v1 import common_pb2
from rampart.report.v1 import report_pb2
from rampart_gateway.api.compliance import views
from rampart_gateway.api.compliance.schemas import (
    ComplianceQuery,
    ControlsQuery,
    ControlUpdateRequest,
    EvidenceQuery,
    HistoryQuery,
)
from rampart_gateway.envelope import ok
from rampart_gateway.errors import ApiError
from rampart_gateway.inputs import printable, read_json, read_query
from rampart_gateway.operations import caller

TIMEOUT = 30.0  # posture reads every open finding of the organisation
FRAMEWORK = re.compile(r"^[a-z0-9][a-z0-9-]{1,31}$")
CONTROL_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,31}:[A-Za-z0-9.()\-]{1,40}$")


def _control_id(request: Request) -> str:
    value = request.path_params["control_id"]
    if not CONTROL_ID.match(value):
        raise ApiError(
            "VALIDATION_ERROR",
            "control id looks like pci-dss:6.3.3 or iso27001:A.8.8",
            {"field": "control_id", "value": printable(value)},
        )
    return str(value)


async def get_compliance(request: Request) -> Response:
    query = read_query(request, ComplianceQuery)
    frameworks = [word for word in query.frameworks.split(",") if word]
    reply = await request.state.clients.report.GetCompliance(
        report_pb2.GetComplianceRequest(owner=caller(request).owner, frameworks=frameworks),
        timeout=TIMEOUT,
    )
    return ok(request, views.posture(reply))


async def get_framework(request: Request) -> Response:
    key = request.path_params["framework"]
    if not FRAMEWORK.match(key):
        raise ApiError(
            "VALIDATION_ERROR",
            "framework is an id like pci-dss",
            {"field": "framework", "value": printable(key)},
        )
    reply = await request.state.clients.report.GetCompliance(
        report_pb2.GetComplianceRequest(owner=caller(request).owner, frameworks=[key]), timeout=TIMEOUT
    )
    return ok(request, views.framework(reply.frameworks[0]))


async def get_history(request: Request) -> Response:
    query = read_query(request, HistoryQuery)
    reply = await request.state.clients.report.GetComplianceHistory(
        report_pb2.GetComplianceHistoryRequest(owner=caller(request).owner, days=query.days),
        timeout=TIMEOUT,
    )
    return ok(request, views.history(reply, query.days))


async def list_controls(request: Request) -> Response:
    query = read_query(request, ControlsQuery)
    reply = await request.state.clients.report.ListControls(
        report_pb2.ListControlsRequest(
            owner=caller(request).owner,
            framework=query.framework,
            status=views.STATUS_VALUE[query.status]
            if query.status
            else report_pb2.CONTROL_STATUS_UNSPECIFIED,
            search=query.q,
            page=common_pb2.PageRequest(page=query.page, per_page=query.per_page),
        ),
        timeout=TIMEOUT,
    )
    return ok(request, views.controls(reply))


async def get_control(request: Request) -> Response:
    control_id = _control_id(request)
    reply = await request.state.clients.report.GetControl(
        report_pb2.GetControlRequest(owner=caller(request).owner, control_id=control_id), timeout=TIMEOUT
    )
    return ok(request, views.detail(reply))


async def update_control(request: Request) -> Response:
    control_id = _control_id(request)
    body = await read_json(request, ControlUpdateRequest)
    message = report_pb2.UpdateControlRequest(
        owner=caller(request).owner,
        control_id=control_id,
        status=views.STATUS_VALUE[body.status] if body.status else report_pb2.CONTROL_STATUS_UNSPECIFIED,
        note=body.note,
    )
    if body.owner is not None:
        message.owner_user_id = body.owner
    reply = await request.state.clients.report.UpdateControl(message, timeout=TIMEOUT)
    return ok(request, views.detail(reply))


async def add_evidence(request: Request) -> Response:
    """The raw body is the file; its type is judged by report-service from the bytes, not a header."""
    control_id = _control_id(request)
    query = read_query(request, EvidenceQuery)
    content = await request.body()
    reply = await request.state.clients.report.AddControlEvidence(
        report_pb2.AddControlEvidenceRequest(
            owner=caller(request).owner, control_id=control_id, filename=query.filename, content=content
        ),
        timeout=60.0,
    )
    return ok(request, views.evidence(reply), status_code=201)
