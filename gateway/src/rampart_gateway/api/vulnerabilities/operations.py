"""The catalog operations: routes and OpenAPI entries, each with the scope or credential it enforces."""

from __future__ import annotations

from rampart_gateway.api.vulnerabilities import schemas
from rampart_gateway.api.vulnerabilities.queries import CatalogQuery
from rampart_gateway.api.vulnerabilities.routes import feed_status, get_catalog_entry, match_catalog
from rampart_gateway.operations import Operation

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
)
