"""The catalog and vulnerability operations: routes and OpenAPI entries, each with the scope or credential
it enforces. The catalog's and the export's paths come first: ``/vulnerabilities/catalog`` and
``/vulnerabilities/export`` are not record ids."""

from __future__ import annotations

from rampart_gateway.api.scans.export import MEDIA_TYPES
from rampart_gateway.api.vulnerabilities import schemas
from rampart_gateway.api.vulnerabilities.queries import (
    CatalogQuery,
    ExportVulnerabilitiesQuery,
    ListVulnerabilitiesQuery,
)
from rampart_gateway.api.vulnerabilities.routes import (
    export_vulnerabilities,
    feed_status,
    get_catalog_entry,
    get_vulnerability,
    list_vulnerabilities,
    match_catalog,
    update_vulnerability,
)
from rampart_gateway.operations import Operation

RECORD = "/api/v1/vulnerabilities/{vulnerability_id}"

OPERATIONS = (
    Operation(
        "GET",
        "/api/v1/vulnerabilities/catalog",
        match_catalog,
        "The CVEs the knowledge base associates with a CPE, or a product and version, each with why",
        "vulnerabilities",
        scope="threats:read",
        query=CatalogQuery,
        response=schemas.CatalogMatches,
        errors=("VALIDATION_ERROR",),
    ),
    Operation(
        "GET",
        "/api/v1/vulnerabilities/catalog/{cve_id}",
        get_catalog_entry,
        "One CVE: scores, CWE, KEV, EPSS, references, affected ranges and where each came from",
        "vulnerabilities",
        scope="threats:read",
        response=schemas.CatalogEntry,
        errors=("VALIDATION_ERROR", "VULN_NOT_FOUND"),
    ),
    Operation(
        "GET",
        "/api/v1/admin/feeds",
        feed_status,
        "Each vulnerability feed's snapshot date, records and staleness; Bearer the operator's ADMIN_TOKEN",
        "vulnerabilities",
        auth=False,
        response=schemas.FeedStatus,
        errors=("INVALID_API_KEY",),
    ),
    Operation(
        "GET",
        "/api/v1/vulnerabilities",
        list_vulnerabilities,
        "Your vulnerability records (one per problem, asset and port), with filters, sort, pages and cursor",
        "vulnerabilities",
        scope="threats:read",
        query=ListVulnerabilitiesQuery,
        response=schemas.VulnerabilityList,
        errors=("VALIDATION_ERROR",),
    ),
    Operation(
        "GET",
        "/api/v1/vulnerabilities/export",
        export_vulnerabilities,
        "Download the records the list filters choose as JSON, CSV, SARIF 2.1.0, HTML or PDF",
        "vulnerabilities",
        scope="threats:read",
        query=ExportVulnerabilitiesQuery,
        response=schemas.VulnerabilityExport,
        raw_response=MEDIA_TYPES,
        errors=("VALIDATION_ERROR", "EXPORT_TOO_LARGE"),
    ),
    Operation(
        "GET",
        RECORD,
        get_vulnerability,
        "One record: evidence, CVE details (scores, KEV, EPSS, CWE), remediation, sightings and history",
        "vulnerabilities",
        scope="threats:read",
        response=schemas.VulnerabilityView,
        errors=("VULNERABILITY_NOT_FOUND",),
    ),
    Operation(
        "PATCH",
        RECORD,
        update_vulnerability,
        "Triage: status (confirmed, false_positive, accepted_risk, resolved, open), note, assignee",
        "vulnerabilities",
        scope="threats:write",
        body=schemas.VulnerabilityUpdateRequest,
        response=schemas.VulnerabilityView,
        errors=("VULNERABILITY_NOT_FOUND", "VULNERABILITY_TRANSITION_NOT_ALLOWED", "VALIDATION_ERROR"),
    ),
)
