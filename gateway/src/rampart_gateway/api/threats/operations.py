"""The threat-analysis and allow/deny list operations: routes and OpenAPI entries, each with the
scope it enforces."""

from __future__ import annotations

from rampart_gateway.api.threats import schemas
from rampart_gateway.api.threats.queries import ListAnalysesQuery, ListEntriesQuery, ThreatScanQuery
from rampart_gateway.api.threats.routes import (
    add_list_entry,
    analyze,
    get_analysis,
    list_analyses,
    list_list_entries,
    remove_list_entry,
    threat_scan,
)
from rampart_gateway.operations import Operation

OPERATIONS = (
    Operation(
        "GET",
        "/api/v1/threats/scan",
        threat_scan,
        "Start a scan of a target (as POST /scans) and answer with its findings once they settle, "
        "or 202 with the findings so far and Location to poll",
        "threats",
        scope="scans:write",
        query=ThreatScanQuery,
        response=schemas.ThreatScanResult,
        also={202: "the findings are not final yet: what is found so far; Location: the scan's results"},
        errors=(
            "INVALID_TARGET",
            "VALIDATION_ERROR",
            "TARGET_NOT_ALLOWED",
            "CONCURRENT_LIMIT_EXCEEDED",
            "SCAN_QUOTA_EXCEEDED",
            "IDEMPOTENCY_KEY_REUSED",
        ),
    ),
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
    Operation(
        "GET",
        "/api/v1/threats/lists",
        list_list_entries,
        "The organisation's allow and deny lists, which every analysis applies",
        "threats",
        scope="threats:read",
        query=ListEntriesQuery,
        response=schemas.ListEntries,
        errors=("VALIDATION_ERROR",),
    ),
    Operation(
        "POST",
        "/api/v1/threats/lists",
        add_list_entry,
        "Put a value on the allow list (hides feed hits) or the deny list (adds one, source 'org deny list')",
        "threats",
        scope="threats:write",
        body=schemas.ListEntryRequest,
        response=schemas.ListEntry,
        status=201,
        errors=("VALIDATION_ERROR",),
    ),
    Operation(
        "DELETE",
        "/api/v1/threats/lists/{entry_id}",
        remove_list_entry,
        "Take an entry off the organisation's list",
        "threats",
        scope="threats:write",
        response=schemas.ListEntry,
        errors=("NOT_FOUND",),
    ),
)
