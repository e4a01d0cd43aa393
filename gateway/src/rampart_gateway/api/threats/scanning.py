"""GET /api/v1/threats/scan: start a scan (as POST /scans would), follow its stream until its
findings settle or ``wait`` runs out, and answer in the seed-004 shape.

The scan is created through the same CreateScan call as POST /scans (scope, quota, concurrency and
sandbox rules all apply there); the findings are read from the scan's own event stream, the one SSE
clients get, so what this answers and what a stream shows never differ.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from rampart.scan.v1 import scan_pb2
from rampart_gateway.api.scans.events import scan_events
from rampart_gateway.api.scans.schemas import ScanCreateRequest, ScanOptionsBody
from rampart_gateway.api.scans.views import SETTLED, STATUS
from rampart_gateway.api.threats.queries import ThreatScanQuery
from rampart_gateway.clients import BrokerLink
from rampart_gateway.errors import ApiError

SERVICES_AND_TLS = ScanOptionsBody(service_detection=True, ssl_check=True)
# depth -> (profile, ports, options): every depth detects services, or there would be nothing to find
DEPTHS: dict[str, tuple[str, str | None, ScanOptionsBody]] = {
    "quick": ("standard", "top-100", ScanOptionsBody(service_detection=True, ssl_check=True, fast_mode=True)),
    "standard": ("compliance", None, SERVICES_AND_TLS),
    "deep": ("pentest", None, SERVICES_AND_TLS),
}


def scan_body(query: ThreatScanQuery) -> ScanCreateRequest:
    profile, ports, options = DEPTHS[query.depth]
    return ScanCreateRequest(target=query.target_ip, profile=profile, ports=ports, options=options)  # type: ignore[arg-type]


@dataclass
class Followed:
    """What the scan's stream showed within the wait."""

    status: str
    findings: dict[str, dict[str, Any]] = field(default_factory=dict)  # fingerprint -> notice
    settled: bool = False
    ended: bool = False  # the stream ended by itself (settled, or the grace after the scan's end ran out)

    def apply(self, name: str, data: dict[str, Any]) -> None:
        if name == "finding":
            notice = data["finding"]
            self.findings[notice["fingerprint"]] = notice
        elif name == SETTLED:
            self.settled = True
        elif "status" in data:  # progress, ports, and the scan's final event (complete / error)
            self.status = data["status"]


async def follow(broker: BrokerLink, scan: scan_pb2.Scan, wait: float, grace: float) -> Followed:
    """Read the scan's events until its findings settle, or the stream ends, or ``wait`` runs out."""
    followed = Followed(STATUS[scan.status])
    if wait <= 0:
        return followed
    try:
        async with asyncio.timeout(wait):
            async for event in scan_events(broker, scan, None, idle_timeout=wait, findings_grace=grace):
                if event.id == 0:  # the gateway's own ending (idle, too slow): nothing more to learn
                    break
                followed.apply(event.name, event.data)
            else:
                followed.ended = True
    except TimeoutError:
        pass
    except ApiError as error:
        if error.code != "SERVICE_UNAVAILABLE":
            raise  # no broker: answer with what the scan says (202, poll the results)
    return followed


def finding(notice: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": notice["type"],
        "severity": notice["severity"],
        "details": notice["title"],
        "cve": notice["cve"],
        "host": notice["host"],
        "port": notice["port"],
        "rule_id": notice["rule_id"],
        "vulnerability_id": notice["vulnerability_id"],
    }


def answer(scan_id: str, followed: Followed, include_vulns: bool, timestamp: str) -> dict[str, Any]:
    notices = followed.findings.values()
    findings = [finding(n) for n in notices if include_vulns or n["type"] != "vulnerable_service"]
    return {
        "scan_id": scan_id,
        "status": followed.status,
        "threats_found": len(findings),
        "findings": findings,
        "findings_settled": followed.settled,
        "timestamp": timestamp,
    }
