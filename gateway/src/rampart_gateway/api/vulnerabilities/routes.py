"""The vulnerability catalog: decode, call threat-service, encode.

Catalog routes are checked for credential and scope before they run (``operations.Operation``); the
feed status is the operators' (Bearer ADMIN_TOKEN), like the health details.
"""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import Response

from rampart.threat.v1 import threat_pb2
from rampart_gateway.api.vulnerabilities import views
from rampart_gateway.api.vulnerabilities.queries import CatalogQuery
from rampart_gateway.envelope import ok
from rampart_gateway.errors import ApiError
from rampart_gateway.inputs import printable, read_query
from rampart_gateway.operations import caller
from rampart_gateway.operator import require_operator

TIMEOUT = 10.0
CVE_ID = re.compile(r"^CVE-\d{4}-\d{4,19}$", re.IGNORECASE)


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
