"""The vulnerability catalog and records: decode, call threat-service, encode.

Catalog routes are checked for credential and scope before they run (``operations.Operation``); the
feed status is the operators' (Bearer ADMIN_TOKEN), like the health details.
"""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import Response

from rampart.common.v1 import common_pb2
from rampart.report.v1 import report_pb2
from rampart.threat.v1 import threat_pb2
from rampart_gateway.api.scans.export import EXPORT_TIMEOUT, FORMATS, download
from rampart_gateway.api.vulnerabilities import views
from rampart_gateway.api.vulnerabilities.queries import (
    CatalogQuery,
    ExportVulnerabilitiesQuery,
    ListVulnerabilitiesQuery,
    VulnerabilityFilters,
)
from rampart_gateway.api.vulnerabilities.schemas import VulnerabilityUpdateRequest
from rampart_gateway.envelope import ok
from rampart_gateway.errors import ApiError
from rampart_gateway.inputs import enum_field, printable, read_json, read_query
from rampart_gateway.operations import caller
from rampart_gateway.operator import require_operator

TIMEOUT = 10.0
CVE_ID = re.compile(r"^CVE-\d{4}-\d{4,19}$", re.IGNORECASE)
VULNERABILITY_ID = re.compile(r"^vuln_[0-9a-f]{32}$")


async def get_catalog_entry(request: Request) -> Response:
    principal = caller(request)
    cve_id = request.path_params["cve_id"]
    if not CVE_ID.match(cve_id):
        raise ApiError(
            "VALIDATION_ERROR",
            "cve_id must look like CVE-2024-6387",
            {"field": "cve_id", "value": printable(cve_id)},
        )
    reply = await request.state.clients.threat.GetCatalogEntry(
        threat_pb2.GetCatalogEntryRequest(owner=principal.owner, cve_id=cve_id.upper()), timeout=TIMEOUT
    )
    return ok(request, views.entry(reply))


async def match_catalog(request: Request) -> Response:
    principal = caller(request)
    query = read_query(request, CatalogQuery)
    reply = await request.state.clients.threat.MatchCatalog(
        threat_pb2.MatchCatalogRequest(
            owner=principal.owner,
            cpe=query.cpe or "",
            product=query.product or "",
            version=query.version or "",
            banner=query.banner,
        ),
        timeout=TIMEOUT,
    )
    return ok(request, views.matches(reply))


async def feed_status(request: Request) -> Response:
    """Operator only (Bearer ADMIN_TOKEN): each feed's snapshot date, record count and staleness."""
    require_operator(request, request.state.settings.admin_token, "feed status", "rampart-admin")
    reply = await request.state.clients.threat.GetFeedStatus(
        threat_pb2.GetFeedStatusRequest(), timeout=TIMEOUT
    )
    return ok(request, views.feed_status(reply))


def filter_message(
    owner: common_pb2.Owner, query: VulnerabilityFilters, page: common_pb2.PageRequest
) -> threat_pb2.ListVulnerabilitiesRequest:
    """threat-service's list request for the filters (the list's and the export's)."""
    first_seen = common_pb2.TimeRange()
    if query.first_seen_after:
        first_seen.after.FromDatetime(query.first_seen_after)
    if query.first_seen_before:
        first_seen.before.FromDatetime(query.first_seen_before)
    message = threat_pb2.ListVulnerabilitiesRequest(
        owner=owner,
        severities=[enum_field(common_pb2.Severity, w, "severity") for w in _words(query.severity)],
        statuses=[enum_field(threat_pb2.VulnerabilityStatus, w, "status") for w in _words(query.status)],
        cve=query.cve.upper(),
        host=query.host,
        port=query.port or 0,
        scan_id=query.scan_id,
        type=enum_field(threat_pb2.VulnerabilityType, query.type or "", "type"),
        first_seen=first_seen,
        page=page,
    )
    if query.kev is not None:
        message.kev = query.kev
    return message


async def list_vulnerabilities(request: Request) -> Response:
    principal = caller(request)
    query = read_query(request, ListVulnerabilitiesQuery)
    page = common_pb2.PageRequest(
        page=query.page,
        per_page=query.per_page,
        cursor=query.cursor,
        sort=query.sort,
        descending=query.order == "desc",
    )
    message = filter_message(principal.owner, query, page)
    reply = await request.state.clients.threat.ListVulnerabilities(message, timeout=TIMEOUT)
    return ok(request, views.vulnerability_page(reply))


async def export_vulnerabilities(request: Request) -> Response:
    """Every record the filters choose, as a file made by report-service (docs/exports.md)."""
    principal = caller(request)
    query = read_query(request, ExportVulnerabilitiesQuery)
    chosen = filter_message(
        principal.owner, query, common_pb2.PageRequest(sort=query.sort, descending=query.order == "desc")
    )
    reply: report_pb2.FileContent = await request.state.clients.report.ExportVulnerabilities(
        report_pb2.ExportVulnerabilitiesRequest(
            owner=principal.owner, format=FORMATS[query.format], filter=chosen
        ),
        timeout=EXPORT_TIMEOUT,
    )
    return download(reply)


def _words(listed: str) -> list[str]:
    return sorted(set(filter(None, listed.split(","))))


def _record_id(request: Request) -> str:
    """The path's id; one that cannot be a record's is not found without asking threat-service."""
    record_id: str = request.path_params["vulnerability_id"]
    if not VULNERABILITY_ID.match(record_id):
        raise ApiError(
            "VULNERABILITY_NOT_FOUND", "vulnerability not found", {"vulnerability_id": printable(record_id)}
        )
    return record_id


async def get_vulnerability(request: Request) -> Response:
    principal = caller(request)
    reply = await request.state.clients.threat.GetVulnerability(
        threat_pb2.GetVulnerabilityRequest(owner=principal.owner, vulnerability_id=_record_id(request)),
        timeout=TIMEOUT,
    )
    return ok(request, views.vulnerability(reply))


async def update_vulnerability(request: Request) -> Response:
    principal = caller(request)
    record_id = _record_id(request)
    body = await read_json(request, VulnerabilityUpdateRequest)
    message = threat_pb2.UpdateVulnerabilityRequest(
        owner=principal.owner,
        vulnerability_id=record_id,
        status=enum_field(threat_pb2.VulnerabilityStatus, body.status or "", "status"),
        note=body.note,
    )
    if body.accepted_until is not None:
        message.accepted_until.FromDatetime(body.accepted_until)
    if body.assignee is not None:
        message.assignee = body.assignee
    reply = await request.state.clients.threat.UpdateVulnerability(message, timeout=TIMEOUT)
    return ok(request, views.vulnerability(reply))
