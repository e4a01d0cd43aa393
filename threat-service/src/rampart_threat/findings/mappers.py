"""Between the vulnerability protobuf messages and the ledger's domain types."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TypeVar

from rampart.common.v1 import common_pb2
from rampart.lib.errors import InvalidArgument
from rampart.lib.ids import from_timestamp, to_timestamp
from rampart.threat.v1 import threat_pb2
from rampart_threat.findings.domain import Change, Status, Vulnerability
from rampart_threat.findings.model import FindingType, Severity
from rampart_threat.findings.repository import Sort
from rampart_threat.findings.service import Listing, Page, Triage, Viewer

STATUS_TO_PROTO = {
    status: threat_pb2.VulnerabilityStatus.Value(f"VULNERABILITY_STATUS_{status.name}") for status in Status
}
STATUS_FROM_PROTO: dict[int, Status] = {value: status for status, value in STATUS_TO_PROTO.items()}
TYPE_TO_PROTO = {
    kind: threat_pb2.VulnerabilityType.Value(f"VULNERABILITY_TYPE_{kind.name}") for kind in FindingType
}
TYPE_FROM_PROTO: dict[int, FindingType] = {value: kind for kind, value in TYPE_TO_PROTO.items()}
SEVERITY_TO_PROTO = {
    severity: common_pb2.Severity.Value(f"SEVERITY_{severity.name}") for severity in Severity
}
SEVERITY_FROM_PROTO: dict[int, Severity] = {value: severity for severity, value in SEVERITY_TO_PROTO.items()}
CHANGE_TO_PROTO = {
    change: threat_pb2.VulnerabilityChangeKind.Value(f"VULNERABILITY_CHANGE_KIND_{change.name}")
    for change in Change
}
SORTS = {sort.value: sort for sort in Sort}
T = TypeVar("T")


def viewer(owner: common_pb2.Owner) -> Viewer:
    """Test keys read and triage the test world's records; live keys and signed-in users the live one."""
    if not owner.org_id:
        raise InvalidArgument("owner is required", field="owner")
    return Viewer(owner.org_id, owner.mode != common_pb2.KEY_MODE_TEST, owner.user_id)


def _enum(values: Iterable[int], table: Mapping[int, T], name: str) -> frozenset[T]:
    found = set()
    for value in values:
        if value not in table:
            raise InvalidArgument(f"unknown {name}", field=name, value=str(value))
        found.add(table[value])
    return frozenset(found)


def listing(request: threat_pb2.ListVulnerabilitiesRequest) -> Listing:
    page = request.page
    sort = page.sort or Sort.PRIORITY.value
    if sort not in SORTS:
        raise InvalidArgument(f"sort must be one of {', '.join(SORTS)}", field="sort", value=sort[:32])
    if request.type and request.type not in TYPE_FROM_PROTO:
        raise InvalidArgument("unknown type", field="type")
    return Listing(
        severities=_enum(request.severities, SEVERITY_FROM_PROTO, "severity"),
        statuses=_enum(request.statuses, STATUS_FROM_PROTO, "status"),
        kev=request.kev if request.HasField("kev") else None,
        cve=request.cve,
        host=request.host,
        port=request.port,
        scan_id=request.scan_id,
        type=TYPE_FROM_PROTO[request.type] if request.type else None,
        first_seen_after=from_timestamp(request.first_seen.after),
        first_seen_before=from_timestamp(request.first_seen.before),
        sort=SORTS[sort],
        descending=page.descending if page.sort else True,
        page=page.page or 1,
        per_page=page.per_page or 20,
        cursor=page.cursor,
    )


def triage(request: threat_pb2.UpdateVulnerabilityRequest) -> Triage:
    if request.status and request.status not in STATUS_FROM_PROTO:
        raise InvalidArgument("unknown status", field="status")
    return Triage(
        status=STATUS_FROM_PROTO[request.status] if request.status else None,
        note=request.note,
        accepted_until=from_timestamp(request.accepted_until),
        assignee=request.assignee if request.HasField("assignee") else None,
    )


def vulnerability_message(
    v: Vulnerability, *, full: bool = False, details: threat_pb2.CatalogEntry | None = None
) -> threat_pb2.Vulnerability:
    """A record as the API carries it; ``full`` adds sightings and history (the single-record read)."""
    seen = v.observation
    mode = common_pb2.KEY_MODE_LIVE if v.live else common_pb2.KEY_MODE_TEST
    message = threat_pb2.Vulnerability(
        vulnerability_id=v.vulnerability_id,
        owner=common_pb2.Owner(org_id=v.org_id, mode=mode),
        fingerprint=v.fingerprint,
        type=TYPE_TO_PROTO[seen.type],
        host=v.host,
        port=v.port,
        protocol=v.protocol,
        cve=seen.cve,
        rule_id=seen.rule_id,
        title=seen.title,
        description=seen.description,
        remediation=seen.remediation,
        severity=SEVERITY_TO_PROTO[seen.severity],
        cvss_score=seen.cvss_score,
        cvss_vector=seen.cvss_vector,
        cwe=list(seen.cwe),
        references=list(seen.references),
        evidence=dict(seen.evidence),
        confidence=seen.confidence.value,
        kev=seen.kev,
        epss=seen.epss,
        priority=seen.priority,
        service=seen.service,
        cpe=seen.cpe,
        status=STATUS_TO_PROTO[v.status],
        resolution=v.resolution,
        resolved_scan_id=v.resolved_scan_id,
        accepted_until=to_timestamp(v.accepted_until),
        assignee=v.assignee,
        first_seen=to_timestamp(v.first_seen),
        last_seen=to_timestamp(v.last_seen),
        first_scan_id=v.first_scan_id,
        last_scan_id=v.last_scan_id,
        sightings_total=v.sightings_total,
        updated_at=to_timestamp(v.updated_at),
        cve_details=details,
    )
    if full:
        message.sightings.extend(
            threat_pb2.VulnerabilitySighting(scan_id=s.scan_id, at=to_timestamp(s.at)) for s in v.sightings
        )
        message.history.extend(
            threat_pb2.VulnerabilityChange(
                kind=CHANGE_TO_PROTO[e.kind],
                actor=e.actor,
                from_value=e.before,
                to_value=e.after,
                note=e.note,
                scan_id=e.scan_id,
                at=to_timestamp(e.at),
            )
            for e in v.history
        )
    return message


def page_message(page: Page) -> threat_pb2.ListVulnerabilitiesResponse:
    return threat_pb2.ListVulnerabilitiesResponse(
        vulnerabilities=[vulnerability_message(v) for v in page.items],
        page=common_pb2.PageInfo(
            total=page.total,
            page=page.page,
            per_page=page.per_page,
            pages=page.pages,
            next_cursor=page.next_cursor,
        ),
    )
