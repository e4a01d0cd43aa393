"""Public error codes: the gRPC status a service answers with, the HTTP status, what it means.

A code with ``http=None`` never answers a request: it appears only in a scan's ``error`` or in
a stream's ``error`` event.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from grpc import StatusCode

S = StatusCode  # short, for the table below

# ErrorInfo.domain of every error a Rampart service reports (google.rpc.ErrorInfo).
ERROR_DOMAIN = "rampart"


@dataclass(frozen=True)
class ErrorCode:
    """One public error code and how it crosses gRPC and HTTP."""

    name: str
    grpc: StatusCode
    http: int | None
    description: str


_CODES = (
    # 4xx: the request
    ErrorCode("BAD_REQUEST", S.INVALID_ARGUMENT, 400, "the request cannot be read (e.g. not JSON)"),
    ErrorCode("INVALID_TARGET", S.INVALID_ARGUMENT, 400, "a scan target is not a valid host or network"),
    ErrorCode("INVALID_INDICATOR", S.INVALID_ARGUMENT, 400, "an indicator to analyse is malformed"),
    ErrorCode("INVALID_PORT_SPEC", S.INVALID_ARGUMENT, 400, "a port specification is unreadable or too big"),
    ErrorCode("VALIDATION_ERROR", S.INVALID_ARGUMENT, 422, "a field is missing or invalid"),
    ErrorCode("ANALYSIS_BUDGET_EXCEEDED", S.RESOURCE_EXHAUSTED, 422, "an analysis ran past its budget"),
    ErrorCode("INVALID_API_KEY", S.UNAUTHENTICATED, 401, "no valid credential was presented"),
    ErrorCode("INSUFFICIENT_PERMISSIONS", S.PERMISSION_DENIED, 403, "the credential lacks a scope or right"),
    ErrorCode("TARGET_NOT_ALLOWED", S.PERMISSION_DENIED, 403, "the target is outside the authorised scope"),
    ErrorCode("NOT_FOUND", S.NOT_FOUND, 404, "no such resource (or another tenant's)"),
    ErrorCode("SCAN_NOT_FOUND", S.NOT_FOUND, 404, "no such scan (or another tenant's)"),
    ErrorCode("SCHEDULE_NOT_FOUND", S.NOT_FOUND, 404, "no such schedule (or another tenant's)"),
    ErrorCode("METHOD_NOT_ALLOWED", S.UNIMPLEMENTED, 405, "the path does not take this method"),
    ErrorCode("CONFLICT", S.ALREADY_EXISTS, 409, "the request conflicts with the resource's state"),
    ErrorCode("EMAIL_TAKEN", S.ALREADY_EXISTS, 409, "an account with this email exists"),
    ErrorCode("SCAN_ALREADY_FINISHED", S.FAILED_PRECONDITION, 409, "the scan has already finished"),
    ErrorCode("SCAN_NOT_FINISHED", S.FAILED_PRECONDITION, 409, "the scan has not finished yet"),
    ErrorCode(
        "NO_SCAN_TO_COMPARE",
        S.FAILED_PRECONDITION,
        409,
        "no earlier completed scan of the same targets to compare with",
    ),
    ErrorCode(
        "INCIDENT_TRANSITION_NOT_ALLOWED",
        S.FAILED_PRECONDITION,
        409,
        "the incident cannot move from its status to the one asked",
    ),
    ErrorCode("INCIDENT_NOT_FOUND", S.NOT_FOUND, 404, "no such incident (or another tenant's)"),
    ErrorCode("ASSET_NOT_FOUND", S.NOT_FOUND, 404, "no such asset (or another tenant's)"),
    ErrorCode("SCAN_NOT_RESUMABLE", S.FAILED_PRECONDITION, 409, "only ended-early scans resume"),
    ErrorCode("VULNERABILITY_NOT_FOUND", S.NOT_FOUND, 404, "no such vulnerability (or another tenant's)"),
    ErrorCode(
        "VULNERABILITY_TRANSITION_NOT_ALLOWED",
        S.FAILED_PRECONDITION,
        422,
        "the vulnerability cannot move from its status to the one asked; details list the allowed ones",
    ),
    ErrorCode("WEBHOOK_NOT_FOUND", S.NOT_FOUND, 404, "no such webhook (or another tenant's)"),
    ErrorCode("WEBHOOK_DELIVERY_NOT_FOUND", S.NOT_FOUND, 404, "no such delivery of this webhook"),
    ErrorCode(
        "WEBHOOK_URL_NOT_ALLOWED",
        S.INVALID_ARGUMENT,
        422,
        "the webhook URL is not https, has credentials or an odd port, or reaches a non-public address",
    ),
    ErrorCode("VULN_NOT_FOUND", S.NOT_FOUND, 404, "no such CVE in the vulnerability knowledge base"),
    # compliance (issue 14)
    ErrorCode("FRAMEWORK_NOT_FOUND", S.NOT_FOUND, 404, "no such compliance framework"),
    ErrorCode("CONTROL_NOT_FOUND", S.NOT_FOUND, 404, "no such compliance control"),
    # the assistant (issue 15)
    ErrorCode("AI_HISTORY_NOT_FOUND", S.NOT_FOUND, 404, "no such entry in your assistant history"),
    ErrorCode("EVIDENCE_TOO_LARGE", S.INVALID_ARGUMENT, 413, "the evidence file is larger than the limit"),
    ErrorCode(
        "EVIDENCE_TYPE_NOT_ALLOWED",
        S.INVALID_ARGUMENT,
        415,
        "the evidence file's content is not an accepted type",
    ),
    ErrorCode(
        "EVIDENCE_MALICIOUS", S.FAILED_PRECONDITION, 422, "the evidence file was judged malicious and refused"
    ),
    # reports (issue 13)
    ErrorCode("REPORT_NOT_FOUND", S.NOT_FOUND, 404, "no such report (or another tenant's, or expired)"),
    ErrorCode(
        "EXPORT_TOO_LARGE",
        S.FAILED_PRECONDITION,
        422,
        "more records match than one export holds; details give the limit and the count: narrow the filters",
    ),
    ErrorCode("REPORT_NOT_READY", S.FAILED_PRECONDITION, 409, "the report is not generated (yet, or failed)"),
    ErrorCode("IDEMPOTENCY_KEY_REUSED", S.FAILED_PRECONDITION, 409, "Idempotency-Key reused, other body"),
    ErrorCode("PAYLOAD_TOO_LARGE", S.RESOURCE_EXHAUSTED, 413, "the request body is too large"),
    ErrorCode("RATE_LIMIT_EXCEEDED", S.RESOURCE_EXHAUSTED, 429, "too many requests; see Retry-After"),
    ErrorCode("CONCURRENT_LIMIT_EXCEEDED", S.RESOURCE_EXHAUSTED, 429, "the plan's concurrent scans are busy"),
    ErrorCode("SCAN_QUOTA_EXCEEDED", S.RESOURCE_EXHAUSTED, 429, "the plan's daily scan quota is used up"),
    ErrorCode(
        "AI_QUOTA_EXCEEDED",
        S.RESOURCE_EXHAUSTED,
        429,
        "the plan's daily assistant requests are used up; Retry-After says when they reset (UTC midnight)",
    ),
    # 5xx: the platform
    ErrorCode("INTERNAL_ERROR", S.INTERNAL, 500, "an unexpected failure, logged with the request id"),
    ErrorCode("NOT_IMPLEMENTED", S.UNIMPLEMENTED, 501, "the operation is not built yet"),
    ErrorCode("SERVICE_UNAVAILABLE", S.UNAVAILABLE, 503, "a dependency is down; retry shortly"),
    ErrorCode("SERVICE_BUSY", S.RESOURCE_EXHAUSTED, 503, "a service is shedding load; see Retry-After"),
    ErrorCode("SCAN_TIMEOUT", S.DEADLINE_EXCEEDED, 504, "the scan ran past its max_duration"),
    ErrorCode("UPSTREAM_TIMEOUT", S.DEADLINE_EXCEEDED, 504, "a service did not answer in time"),
    # only in a scan's error or a stream's error event
    ErrorCode("SCAN_CANCELLED", S.CANCELLED, None, "the scan was cancelled by its owner"),
    ErrorCode("CLIENT_TOO_SLOW", S.RESOURCE_EXHAUSTED, None, "a stream client fell too far behind"),
    ErrorCode("REPORT_FAILED", S.ABORTED, None, "the report could not be generated (its error says why)"),
)
ERRORS: Mapping[str, ErrorCode] = {code.name: code for code in _CODES}

# The code for a failed call that carries no ErrorInfo (transport failures, other clients).
CODE_FOR_GRPC_STATUS: Mapping[StatusCode, str] = {
    StatusCode.INVALID_ARGUMENT: "VALIDATION_ERROR",
    StatusCode.NOT_FOUND: "NOT_FOUND",
    StatusCode.ALREADY_EXISTS: "CONFLICT",
    StatusCode.FAILED_PRECONDITION: "CONFLICT",
    StatusCode.PERMISSION_DENIED: "INSUFFICIENT_PERMISSIONS",
    StatusCode.UNAUTHENTICATED: "INVALID_API_KEY",
    StatusCode.RESOURCE_EXHAUSTED: "RATE_LIMIT_EXCEEDED",
    StatusCode.UNIMPLEMENTED: "NOT_IMPLEMENTED",
    StatusCode.UNAVAILABLE: "SERVICE_UNAVAILABLE",
    StatusCode.DEADLINE_EXCEEDED: "UPSTREAM_TIMEOUT",
}
# The code for an HTTP error raised by the web framework itself (routing, parsing).
CODE_FOR_HTTP_STATUS: Mapping[int, str] = {
    400: "BAD_REQUEST",
    401: "INVALID_API_KEY",
    403: "INSUFFICIENT_PERMISSIONS",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "PAYLOAD_TOO_LARGE",
    422: "VALIDATION_ERROR",
    429: "RATE_LIMIT_EXCEEDED",
}


def error_code(name: str) -> ErrorCode:
    """The catalogue entry of ``name``; ``KeyError`` names a code the catalogue lacks."""
    try:
        return ERRORS[name]
    except KeyError:
        raise KeyError(f"error code {name!r} is not in rampart.lib.catalogue") from None
