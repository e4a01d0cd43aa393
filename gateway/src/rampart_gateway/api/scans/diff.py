"""GET /api/v1/scans/{scan_id}/diff: what changed between two scans.

scan-service compares the results (DiffScans: hosts, ports, services, certificates; it owns
them and picks the default baseline); this route adds the findings side from threat-service
(ListScanFindings of both scans, compared by fingerprint). threat-service being away does not
fail the diff: ``findings`` is null then.
"""

from __future__ import annotations

from typing import Any

import grpc
import structlog
from starlette.requests import Request
from starlette.responses import Response

from rampart.common.v1 import common_pb2
from rampart.scan.v1 import scan_pb2
from rampart.threat.v1 import threat_pb2
from rampart_gateway.api.scans import views
from rampart_gateway.api.scans.queries import DiffQuery
from rampart_gateway.envelope import ok
from rampart_gateway.inputs import read_query
from rampart_gateway.operations import caller

log = structlog.get_logger(__name__)
TIMEOUT = 30.0
FINDINGS_TIMEOUT = 5.0
REOPENED = "reopened"


def port_change(change: scan_pb2.PortChange) -> dict[str, Any]:
    return {
        "host": change.host,
        "port": change.port,
        "protocol": change.protocol,
        "service": views.service(change.service),
    }


def results_diff(reply: scan_pb2.ScanDiff) -> dict[str, Any]:
    """The scan-service side of the diff as public JSON."""
    return {
        "scan": views.scan(reply.scan),
        "against": views.scan(reply.against),
        "hosts_up": list(reply.hosts_up),
        "hosts_down": list(reply.hosts_down),
        "ports_opened": [port_change(c) for c in reply.ports_opened],
        "ports_closed": [port_change(c) for c in reply.ports_closed],
        "services_changed": [
            {
                "host": c.host,
                "port": c.port,
                "protocol": c.protocol,
                "before": views.service(c.before),
                "after": views.service(c.after),
            }
            for c in reply.services_changed
        ],
        "certificates_changed": [
            {
                "host": c.host,
                "port": c.port,
                "protocol": c.protocol,
                "before": views.certificate(c.before),
                "after": views.certificate(c.after),
            }
            for c in reply.certificates_changed
        ],
        "certificates_expiring": [
            {
                "host": c.host,
                "port": c.port,
                "protocol": c.protocol,
                "days_left": c.days_left,
                "certificate": views.certificate(c.certificate),
            }
            for c in reply.certificates_expiring
        ],
    }


def findings_diff(
    before: list[scan_pb2.FindingNotice], after: list[scan_pb2.FindingNotice]
) -> dict[str, list[dict[str, Any]]]:
    """New, reopened and resolved findings by fingerprint. Reopened: seen now with the record
    reopened; resolved: seen in the older scan and not in the newer one (same targets)."""
    old = {notice.fingerprint: notice for notice in before}
    new = {notice.fingerprint: notice for notice in after}
    appeared = [new[key] for key in new if key not in old]
    return {
        "new": [views.finding_notice(n) for n in appeared if n.status != REOPENED],
        "reopened": [views.finding_notice(n) for n in appeared if n.status == REOPENED],
        "resolved": [views.finding_notice(old[key]) for key in old if key not in new],
    }


async def findings_of_both(
    request: Request, owner: common_pb2.Owner, against_id: str, scan_id: str
) -> dict[str, list[dict[str, Any]]] | None:
    threat = request.state.clients.threat
    try:
        replies = [
            await threat.ListScanFindings(
                threat_pb2.ListScanFindingsRequest(owner=owner, scan_id=one), timeout=FINDINGS_TIMEOUT
            )
            for one in (against_id, scan_id)
        ]
    except grpc.aio.AioRpcError as error:
        log.warning("scan findings unavailable for the diff", code=error.code().name)
        return None
    return findings_diff(list(replies[0].findings), list(replies[1].findings))


def summary(view: dict[str, Any]) -> dict[str, int | None]:
    """How many changes of each kind: what an alert or a list shows."""
    counted: dict[str, int | None] = {
        key: len(view[key])
        for key in (
            "hosts_up",
            "hosts_down",
            "ports_opened",
            "ports_closed",
            "services_changed",
            "certificates_changed",
            "certificates_expiring",
        )
    }
    findings = view["findings"]
    for kind in ("new", "reopened", "resolved"):
        counted[f"findings_{kind}"] = len(findings[kind]) if findings is not None else None
    return counted


async def scan_diff(request: Request) -> Response:
    principal = caller(request)
    query = read_query(request, DiffQuery)
    reply = await request.state.clients.scan.DiffScans(
        scan_pb2.DiffScansRequest(
            owner=principal.owner,
            scan_id=request.path_params["scan_id"],
            against_scan_id=query.against,
            expiring_within_days=query.expiring_within_days,
        ),
        timeout=TIMEOUT,
    )
    view = results_diff(reply)
    view["findings"] = await findings_of_both(
        request, principal.owner, reply.against.scan_id, reply.scan.scan_id
    )
    view["summary"] = summary(view)
    view["changed"] = any(count for count in view["summary"].values())
    return ok(request, view)
