"""The findings side of the scan list and results, read from threat-service (its per-scan tally of
what each scan's stream announced). threat-service being away does not fail the scan routes: the
finding fields are null then, and the scan's own fields are still answered."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import grpc
import structlog
from starlette.requests import Request

from rampart.common.v1 import common_pb2
from rampart.threat.v1 import threat_pb2
from rampart_gateway.api.scans.views import finding_notice

log = structlog.get_logger(__name__)
TIMEOUT = 5.0
SEVERITIES = ("critical", "high", "medium", "low", "info")
UNKNOWN: dict[str, Any] = {
    "vulnerabilities_found": None,
    "vulnerability_counts": None,
    "findings_settled": None,
}


def counted(count: threat_pb2.ScanFindingCount | None) -> dict[str, Any]:
    """A scan with no count had no finding announced (yet)."""
    count = count or threat_pb2.ScanFindingCount()
    return {
        "vulnerabilities_found": count.findings,
        "vulnerability_counts": {severity: count.by_severity.get(severity, 0) for severity in SEVERITIES},
        "findings_settled": count.settled,
    }


async def counts_of(
    request: Request, owner: common_pb2.Owner, scan_ids: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """The finding fields of each scan of a page, in one call."""
    if not scan_ids:
        return {}
    try:
        reply = await request.state.clients.threat.CountScanFindings(
            threat_pb2.CountScanFindingsRequest(owner=owner, scan_ids=list(scan_ids)), timeout=TIMEOUT
        )
    except grpc.aio.AioRpcError as error:
        log.warning("finding counts unavailable", code=error.code().name)
        return {scan_id: UNKNOWN for scan_id in scan_ids}
    by_scan = {count.scan_id: count for count in reply.counts}
    return {scan_id: counted(by_scan.get(scan_id)) for scan_id in scan_ids}


async def findings_of(request: Request, owner: common_pb2.Owner, scan_id: str) -> dict[str, Any]:
    """The finding fields of a scan's results, with the findings themselves (most severe first)."""
    try:
        reply = await request.state.clients.threat.ListScanFindings(
            threat_pb2.ListScanFindingsRequest(owner=owner, scan_id=scan_id), timeout=TIMEOUT
        )
    except grpc.aio.AioRpcError as error:
        log.warning("scan findings unavailable", code=error.code().name)
        return {**UNKNOWN, "vulnerabilities": None, "vulnerabilities_resolved": None}
    return {
        **counted(reply.count),
        "vulnerabilities": [finding_notice(notice) for notice in reply.findings],
        "vulnerabilities_resolved": reply.resolved,
    }
