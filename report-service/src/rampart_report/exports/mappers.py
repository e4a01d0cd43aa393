"""Between the protobuf messages exports read or answer and the export domain types."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

from rampart.common.v1 import common_pb2
from rampart.lib.errors import InvalidArgument
from rampart.lib.ids import from_timestamp
from rampart.report.v1 import report_pb2
from rampart.scan.v1 import scan_pb2
from rampart.threat.v1 import threat_pb2
from rampart_report.exports.model import (
    CsvKind,
    ExportFile,
    ExportFormat,
    FindingEntry,
    HistoryPoint,
    PortEntry,
    ScanInfo,
    VulnerabilityFilter,
    VulnerabilityRecord,
)
from rampart_report.exports.ports import Requester

FORMATS = {
    report_pb2.FORMAT_JSON: ExportFormat.JSON,
    report_pb2.FORMAT_CSV: ExportFormat.CSV,
    report_pb2.FORMAT_SARIF: ExportFormat.SARIF,
    report_pb2.FORMAT_HTML: ExportFormat.HTML,
    report_pb2.FORMAT_PDF: ExportFormat.PDF,
}
CSV_KINDS = {report_pb2.CSV_KIND_FINDINGS: CsvKind.FINDINGS}  # anything else: ports
SEVERITY_NAMES = {
    common_pb2.SEVERITY_INFO: "info",
    common_pb2.SEVERITY_LOW: "low",
    common_pb2.SEVERITY_MEDIUM: "medium",
    common_pb2.SEVERITY_HIGH: "high",
    common_pb2.SEVERITY_CRITICAL: "critical",
}


def requester(owner: common_pb2.Owner) -> Requester:
    return Requester(owner.org_id, owner.user_id, live=owner.mode != common_pb2.KEY_MODE_TEST)


def export_request(
    request: report_pb2.ExportScanRequest,
) -> tuple[Requester, str, ExportFormat, CsvKind]:
    fmt = FORMATS.get(request.format)
    if fmt is None:
        raise InvalidArgument("format: json, csv, sarif, html or pdf", field="format")
    if not request.scan_id:
        raise InvalidArgument("scan_id is required", field="scan_id")
    return requester(request.owner), request.scan_id, fmt, CSV_KINDS.get(request.csv_kind, CsvKind.PORTS)


def owner(requester: Requester) -> common_pb2.Owner:
    mode = common_pb2.KEY_MODE_LIVE if requester.live else common_pb2.KEY_MODE_TEST
    return common_pb2.Owner(org_id=requester.org_id, user_id=requester.user_id, mode=mode)


def _name(enum_name: str, prefix: str) -> str:
    return enum_name.removeprefix(prefix).lower()


def scan_info(scan: scan_pb2.Scan) -> ScanInfo:
    return ScanInfo(
        scan_id=scan.scan_id,
        targets=tuple(scan.targets),
        status=_name(scan_pb2.ScanStatus.Name(scan.status), "SCAN_STATUS_"),
        profile=_name(scan_pb2.ScanProfile.Name(scan.profile), "SCAN_PROFILE_").replace("unspecified", ""),
        ports=scan.ports,
        created_at=from_timestamp(scan.created_at),
        completed_at=from_timestamp(scan.completed_at),
        sandbox=scan.sandbox,
    )


def port_entry(port: scan_pb2.PortResult) -> PortEntry:
    service, tls = port.service, port.tls
    return PortEntry(
        host=port.host,
        port=port.port,
        protocol=port.protocol or "tcp",
        state=_name(scan_pb2.PortState.Name(port.state), "PORT_STATE_"),
        service=service.name,
        product=service.product,
        version=service.version,
        cpe=service.cpe,
        confidence=service.confidence,
        evidence=service.evidence,
        tls_protocols=tuple(tls.protocols_accepted),
        tls_weaknesses=tuple(tls.weaknesses),
        rtt_ms=port.rtt_ms,
    )


def history_point(scan: scan_pb2.Scan) -> HistoryPoint | None:
    completed = from_timestamp(scan.completed_at)
    return None if completed is None else HistoryPoint(scan.scan_id, completed, scan.counts.open)


def finding_entry(message: threat_pb2.Vulnerability) -> FindingEntry:
    """A vulnerability record of threat-service's ledger, as the export shows it."""
    kind = threat_pb2.VulnerabilityType.Name(message.type)
    score = message.cvss_score if message.HasField("cvss_score") else None
    epss = message.epss if message.HasField("epss") else None
    status = threat_pb2.VulnerabilityStatus.Name(message.status)
    return FindingEntry(
        fingerprint=message.fingerprint,
        type=_name(kind, "VULNERABILITY_TYPE_"),
        subject=message.cve or message.rule_id,
        title=message.title,
        severity=SEVERITY_NAMES.get(message.severity, "info"),
        host=message.host,
        port=message.port,
        protocol=message.protocol or "tcp",
        description=message.description,
        remediation=message.remediation,
        cvss_score=score,
        cvss_vector=message.cvss_vector,
        cwe=tuple(message.cwe),
        references=tuple(message.references),
        evidence=dict(message.evidence),
        confidence=message.confidence,
        status=_name(status, "VULNERABILITY_STATUS_"),
        kev=message.kev,
        epss=epss,
        priority=message.priority,
        service=message.service,
        first_seen=from_timestamp(message.first_seen),
    )


def file_message(file: ExportFile) -> report_pb2.FileContent:
    return report_pb2.FileContent(
        filename=file.filename, content_type=file.content_type, content=file.content
    )


SORTS = ("priority", "severity", "last_seen", "first_seen")  # threat-service's list orders
SEVERITY_VALUES = {name: value for value, name in SEVERITY_NAMES.items()}


E = TypeVar("E", bound=int)  # a protobuf enum's value type


def _enum_words(values: Iterable[E], name: str, prefix: str, name_of: Callable[[E], str]) -> tuple[str, ...]:
    """Enum values as the lowercase words the list uses; unspecified ones are no filter."""
    words = []
    for value in values:
        if not value:
            continue  # unspecified: no filter
        try:
            words.append(_name(name_of(value), prefix))
        except ValueError:
            raise InvalidArgument(f"{name}: unknown value {value}", field=name) from None
    return tuple(sorted(set(words)))


def vulnerabilities_request(
    request: report_pb2.ExportVulnerabilitiesRequest,
) -> tuple[Requester, VulnerabilityFilter, ExportFormat]:
    """The requester, the filters (as threat-service's list reads them) and the format."""
    fmt = FORMATS.get(request.format)
    if fmt is None:
        raise InvalidArgument("format: json, csv, sarif, html or pdf", field="format")
    given = request.filter
    sort = given.page.sort or "priority"
    if sort not in SORTS:
        raise InvalidArgument("sort: priority, severity, last_seen or first_seen", field="sort")
    severities = []
    for value in given.severities:
        if value not in SEVERITY_NAMES:
            raise InvalidArgument(f"severity: unknown value {value}", field="severity")
        severities.append(SEVERITY_NAMES[value])
    kind = ""
    if given.type:
        kind = _enum_words([given.type], "type", "VULNERABILITY_TYPE_", threat_pb2.VulnerabilityType.Name)[0]
    if given.port < 0 or given.port > 65535:
        raise InvalidArgument("port: 1 to 65535", field="port")
    chosen = VulnerabilityFilter(
        severities=tuple(sorted(set(severities), key=lambda word: -SEVERITY_VALUES[word])),
        statuses=_enum_words(
            given.statuses, "status", "VULNERABILITY_STATUS_", threat_pb2.VulnerabilityStatus.Name
        ),
        kev=given.kev if given.HasField("kev") else None,
        cve=given.cve,
        host=given.host,
        port=given.port,
        scan_id=given.scan_id,
        type=kind,
        first_seen_after=from_timestamp(given.first_seen.after)
        if given.first_seen.HasField("after")
        else None,
        first_seen_before=from_timestamp(given.first_seen.before)
        if given.first_seen.HasField("before")
        else None,
        sort=sort,
        descending=given.page.descending if given.page.sort else True,
    )
    return requester(request.owner), chosen, fmt


def list_request(
    requester: Requester, chosen: VulnerabilityFilter, per_page: int, cursor: str
) -> threat_pb2.ListVulnerabilitiesRequest:
    """threat-service's list request for one page of the chosen records."""
    message = threat_pb2.ListVulnerabilitiesRequest(
        owner=owner(requester),
        severities=[SEVERITY_VALUES[word] for word in chosen.severities],
        statuses=[
            threat_pb2.VulnerabilityStatus.Value(f"VULNERABILITY_STATUS_{w.upper()}") for w in chosen.statuses
        ],
        cve=chosen.cve,
        host=chosen.host,
        port=chosen.port,
        scan_id=chosen.scan_id,
        type=threat_pb2.VulnerabilityType.Value(f"VULNERABILITY_TYPE_{chosen.type.upper()}")
        if chosen.type
        else threat_pb2.VULNERABILITY_TYPE_UNSPECIFIED,
        page=common_pb2.PageRequest(
            per_page=per_page, cursor=cursor, sort=chosen.sort, descending=chosen.descending
        ),
    )
    if chosen.kev is not None:
        message.kev = chosen.kev
    if chosen.first_seen_after is not None:
        message.first_seen.after.FromDatetime(chosen.first_seen_after)
    if chosen.first_seen_before is not None:
        message.first_seen.before.FromDatetime(chosen.first_seen_before)
    return message


def vulnerability_record(message: threat_pb2.Vulnerability) -> VulnerabilityRecord:
    return VulnerabilityRecord(
        finding=finding_entry(message),
        vulnerability_id=message.vulnerability_id,
        last_seen=from_timestamp(message.last_seen),
        first_scan_id=message.first_scan_id,
        last_scan_id=message.last_scan_id,
        sightings=message.sightings_total,
    )
