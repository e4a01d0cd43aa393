"""The compliance operations: routes and OpenAPI entries, each with the scope it enforces.
``/compliance/history`` comes before ``/compliance/{framework}``: "history" is not a framework."""

from __future__ import annotations

from rampart_gateway.api.compliance import schemas
from rampart_gateway.api.compliance.routes import (
    add_evidence,
    get_compliance,
    get_control,
    get_framework,
    get_history,
    list_controls,
    update_control,
)
from rampart_gateway.operations import Operation

CONTROL = "/api/v1/controls/{control_id}"
TAG = "compliance"

OPERATIONS = (
    Operation(
        "GET",
        "/api/v1/compliance",
        get_compliance,
        "Posture of every framework (or those named): score, each control's status, gaps and evidence",
        TAG,
        scope="reports:read",
        query=schemas.ComplianceQuery,
        response=schemas.PostureView,
        errors=("VALIDATION_ERROR", "FRAMEWORK_NOT_FOUND"),
    ),
    Operation(
        "GET",
        "/api/v1/compliance/history",
        get_history,
        "Posture over time: one snapshot a day (scores and control statuses) for the last N days",
        TAG,
        scope="reports:read",
        query=schemas.HistoryQuery,
        response=schemas.HistoryView,
        errors=("VALIDATION_ERROR",),
    ),
    Operation(
        "GET",
        "/api/v1/compliance/{framework}",
        get_framework,
        "One framework's posture: score, controls, the gap analysis (findings, hosts, remediation)",
        TAG,
        scope="reports:read",
        response=schemas.FrameworkView,
        errors=("VALIDATION_ERROR", "FRAMEWORK_NOT_FOUND"),
    ),
    Operation(
        "GET",
        "/api/v1/controls",
        list_controls,
        "Controls (id, name, status, frameworks, evidence_count), filtered by framework, status, text; paged",
        TAG,
        scope="reports:read",
        query=schemas.ControlsQuery,
        response=schemas.ControlList,
        errors=("VALIDATION_ERROR", "FRAMEWORK_NOT_FOUND"),
    ),
    Operation(
        "GET",
        CONTROL,
        get_control,
        "One control: status, the checks behind it, gaps, exclusions, manual status, history and evidence",
        TAG,
        scope="reports:read",
        response=schemas.ControlDetailView,
        errors=("VALIDATION_ERROR", "CONTROL_NOT_FOUND"),
    ),
    Operation(
        "PATCH",
        CONTROL,
        update_control,
        "Manual status (passing, failing; manual clears it) with a note, and the control's owner",
        TAG,
        scope="reports:write",
        body=schemas.ControlUpdateRequest,
        response=schemas.ControlDetailView,
        errors=("VALIDATION_ERROR", "CONTROL_NOT_FOUND"),
    ),
    Operation(
        "POST",
        CONTROL + "/evidence",
        add_evidence,
        "Upload an evidence file as the raw body (?filename=): at most 512 KiB; PDF, PNG, JPEG, GIF,"
        " ZIP/Office, JSON or text, judged by content; SHA-256 stored; malicious files are refused",
        TAG,
        scope="reports:write",
        query=schemas.EvidenceQuery,
        upload="the evidence file, at most 512 KiB; its type is judged from its bytes",
        response=schemas.EvidenceView,
        status=201,
        errors=(
            "VALIDATION_ERROR",
            "CONTROL_NOT_FOUND",
            "EVIDENCE_TOO_LARGE",
            "EVIDENCE_TYPE_NOT_ALLOWED",
            "EVIDENCE_MALICIOUS",
            "PAYLOAD_TOO_LARGE",
        ),
    ),
)
