"""The threat-analysis operations: routes and OpenAPI entries, each with the scope it enforces."""

from __future__ import annotations

from rampart_gateway.api.threats import schemas
from rampart_gateway.api.threats.queries import ListAnalysesQuery
from rampart_gateway.api.threats.routes import analyze, get_analysis, list_analyses
from rampart_gateway.operations import Operation

OPERATIONS = (
    Operation(
        "POST",
        "/api/v1/threats/analyze",
        analyze,
        "Analyse a URL, domain, IP, hash or payload (quick, deep or sandbox); the analysis is stored",
        "threats",
        scope="threats:write",
        body=schemas.AnalyzeRequest,
        response=schemas.Analysis,
        status=201,
        errors=("VALIDATION_ERROR", "INVALID_INDICATOR", "PAYLOAD_TOO_LARGE", "ANALYSIS_BUDGET_EXCEEDED"),
    ),
    Operation(
        "GET",
        "/api/v1/threats/analyses",
        list_analyses,
        "The organisation's analyses, newest first",
        "threats",
        scope="threats:read",
        query=ListAnalysesQuery,
        response=schemas.AnalysisList,
        errors=("VALIDATION_ERROR",),
    ),
    Operation(
        "GET",
        "/api/v1/threats/analyses/{analysis_id}",
        get_analysis,
        "One analysis",
        "threats",
        scope="threats:read",
        response=schemas.Analysis,
        errors=("NOT_FOUND",),
    ),
)
