"""The scan operations: routes and OpenAPI entries, each with the scope it enforces."""

from __future__ import annotations

from starlette.routing import BaseRoute

from rampart_gateway.api.scans import schemas
from rampart_gateway.api.scans.export import MEDIA_TYPES, export_scan
from rampart_gateway.api.scans.queries import ExportQuery, ListScansQuery, StreamHeaders, StreamQuery
from rampart_gateway.api.scans.routes import (
    cancel_scan,
    create_scan,
    delete_results,
    get_scan,
    list_scans,
    resume_scan,
    scan_results,
)
from rampart_gateway.api.scans.streams import scan_stream, scan_websocket
from rampart_gateway.operations import Channel, Operation

OPERATIONS = (
    Operation(
        "POST",
        "/api/v1/scans",
        create_scan,
        "Start a scan of targets you are authorised to scan",
        "scans",
        scope="scans:write",
        body=schemas.ScanCreateRequest,
        response=schemas.ScanCreated,
        status=201,
        errors=(
            "INVALID_TARGET",
            "INVALID_PORT_SPEC",
            "VALIDATION_ERROR",
            "TARGET_NOT_ALLOWED",
            "CONCURRENT_LIMIT_EXCEEDED",
            "SCAN_QUOTA_EXCEEDED",
            "IDEMPOTENCY_KEY_REUSED",
        ),
    ),
    Operation(
        "GET",
        "/api/v1/scans",
        list_scans,
        "List your scans (filters, sort, page or cursor)",
        "scans",
        scope="scans:read",
        response=schemas.ScanList,
        errors=("VALIDATION_ERROR",),
        query=ListScansQuery,
    ),
    Operation(
        "GET",
        "/api/v1/scans/{scan_id}",
        get_scan,
        "Scan status, progress and counts so far",
        "scans",
        scope="scans:read",
        response=schemas.ScanSummary,
        errors=("SCAN_NOT_FOUND",),
    ),
    Operation(
        "DELETE",
        "/api/v1/scans/{scan_id}",
        cancel_scan,
        "Cancel a queued or running scan",
        "scans",
        scope="scans:write",
        response=schemas.ScanSummary,
        errors=("SCAN_NOT_FOUND",),
    ),
    Operation(
        "POST",
        "/api/v1/scans/{scan_id}/resume",
        resume_scan,
        "Continue a cancelled, timed-out or failed scan from the shards not yet done",
        "scans",
        scope="scans:write",
        response=schemas.ScanSummary,
        status=202,
        errors=("SCAN_NOT_FOUND", "SCAN_NOT_RESUMABLE", "CONCURRENT_LIMIT_EXCEEDED"),
    ),
    Operation(
        "GET",
        "/api/v1/scans/{scan_id}/results",
        scan_results,
        "Every port, service, TLS audit and OS hint",
        "scans",
        scope="scans:read",
        response=schemas.ScanResults,
        errors=("SCAN_NOT_FOUND",),
    ),
    Operation(
        "DELETE",
        "/api/v1/scans/{scan_id}/results",
        delete_results,
        "Delete a finished scan's results",
        "scans",
        scope="scans:write",
        response=schemas.DeletedResults,
        errors=("SCAN_NOT_FOUND", "SCAN_NOT_FINISHED"),
    ),
    Operation(
        "GET",
        "/api/v1/scans/{scan_id}/export",
        export_scan,
        "Download the scan with its findings as JSON, CSV, SARIF 2.1.0, HTML or PDF",
        "scans",
        scope="scans:read",
        response=schemas.ScanExport,
        raw_response=MEDIA_TYPES,
        query=ExportQuery,
        errors=("SCAN_NOT_FOUND", "VALIDATION_ERROR"),
    ),
    Operation(
        "GET",
        "/api/v1/scans/{scan_id}/stream",
        scan_stream,
        "Server-sent events: progress, port_found, service_detected, complete, error",
        "scans",
        scope="scans:read",
        raw_response="text/event-stream",
        errors=("SCAN_NOT_FOUND", "VALIDATION_ERROR", "CONCURRENT_LIMIT_EXCEEDED"),
        query=StreamQuery,
        headers=StreamHeaders,
    ),
)

ROUTES: tuple[BaseRoute, ...] = (Channel("/ws/scans/{scan_id}", scan_websocket, scope="scans:read").route(),)
