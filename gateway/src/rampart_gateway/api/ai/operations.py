"""The assistant's operations: routes and OpenAPI entries, each needing the ``ai:use`` scope."""

from __future__ import annotations

from starlette.routing import BaseRoute

from rampart_gateway.api.ai import schemas
from rampart_gateway.api.ai.routes import ask, explain, history, history_entry, report
from rampart_gateway.operations import Operation

STREAMING = " (Accept: text/event-stream streams chunk events, then a done event with the citations)"

OPERATIONS = (
    Operation(
        "POST",
        "/api/v1/ai/ask",
        ask,
        "Ask about your scans, findings, assets or incidents; every claim cites its source" + STREAMING,
        "assistant",
        scope="ai:use",
        body=schemas.AskRequest,
        response=schemas.AskAnswer,
        errors=("VALIDATION_ERROR", "SCAN_NOT_FOUND", "INCIDENT_NOT_FOUND", "NOT_FOUND", "AI_QUOTA_EXCEEDED"),
    ),
    Operation(
        "POST",
        "/api/v1/ai/explain",
        explain,
        "Explain a security concept at beginner, intermediate or expert level, with your example" + STREAMING,
        "assistant",
        scope="ai:use",
        body=schemas.ExplainRequest,
        response=schemas.ExplainAnswer,
        errors=("VALIDATION_ERROR", "SCAN_NOT_FOUND", "AI_QUOTA_EXCEEDED"),
    ),
    Operation(
        "POST",
        "/api/v1/ai/report",
        report,
        "A narrative report over a scan for executive, technical or remediation readers" + STREAMING,
        "assistant",
        scope="ai:use",
        body=schemas.ReportRequest,
        response=schemas.ReportAnswer,
        errors=("VALIDATION_ERROR", "SCAN_NOT_FOUND", "AI_QUOTA_EXCEEDED"),
    ),
    Operation(
        "GET",
        "/api/v1/ai/history",
        history,
        "Your questions and the assistant's answers, newest first (live and test keys apart)",
        "assistant",
        scope="ai:use",
        query=schemas.HistoryQuery,
        response=schemas.AssistantHistoryPage,
        errors=("VALIDATION_ERROR",),
    ),
    Operation(
        "GET",
        "/api/v1/ai/history/{history_id}",
        history_entry,
        "One entry of your assistant history",
        "assistant",
        scope="ai:use",
        response=schemas.AssistantHistoryEntry,
        errors=("AI_HISTORY_NOT_FOUND",),
    ),
)

ROUTES: tuple[BaseRoute, ...] = ()
