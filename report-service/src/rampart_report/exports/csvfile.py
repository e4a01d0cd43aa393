"""CSV: one row per port or one row per finding, columns in a fixed order, no formula cells."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import datetime

from rampart_report.exports.model import (
    CsvKind,
    FindingEntry,
    PortEntry,
    ScanExport,
    VulnerabilityRecord,
    VulnerabilitySet,
)

PORT_COLUMNS = (
    "host",
    "port",
    "protocol",
    "state",
    "service",
    "product",
    "version",
    "cpe",
    "confidence",
    "tls_protocols",
    "tls_weaknesses",
    "rtt_ms",
)
FINDING_COLUMNS = (
    "fingerprint",
    "severity",
    "type",
    "id",
    "title",
    "host",
    "port",
    "protocol",
    "service",
    "cvss_score",
    "cwe",
    "status",
    "confidence",
    "kev",
    "epss",
    "remediation",
    "evidence",
)
# The vulnerabilities export: the findings columns, then the record's own (same prefix, so a tool
# reading one reads the other).
VULNERABILITY_COLUMNS = (
    *FINDING_COLUMNS,
    "vulnerability_id",
    "priority",
    "first_seen",
    "last_seen",
    "first_scan_id",
    "last_scan_id",
    "sightings",
)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet would run such a cell


def csv_cell(value: object) -> str:
    """The cell's text, quoted with ``'`` when a spreadsheet would read it as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in FORMULA_STARTS else text


def port_row(port: PortEntry) -> list[str]:
    row = (
        port.host,
        port.port,
        port.protocol,
        port.state,
        port.service,
        port.product,
        port.version,
        port.cpe,
        port.confidence,
        " ".join(port.tls_protocols),
        " ".join(port.tls_weaknesses),
        port.rtt_ms,
    )
    return [csv_cell(value) for value in row]


def finding_row(finding: FindingEntry) -> list[str]:
    row = (
        finding.fingerprint,
        finding.severity,
        finding.type,
        finding.subject,
        finding.title,
        finding.host,
        finding.port,
        finding.protocol,
        finding.service,
        "" if finding.cvss_score is None else finding.cvss_score,
        " ".join(finding.cwe),
        finding.status,
        finding.confidence,
        "true" if finding.kev else "false",
        "" if finding.epss is None else finding.epss,
        finding.remediation,
        "; ".join(f"{key}={value}" for key, value in sorted(finding.evidence.items())),
    )
    return [csv_cell(value) for value in row]


def _instant(value: datetime | None) -> str:
    return value.isoformat().replace("+00:00", "Z") if value is not None else ""


def record_row(record: VulnerabilityRecord) -> list[str]:
    own = (
        record.vulnerability_id,
        record.finding.priority,
        _instant(record.finding.first_seen),
        _instant(record.last_seen),
        record.first_scan_id,
        record.last_scan_id,
        record.sightings,
    )
    return finding_row(record.finding) + [csv_cell(value) for value in own]


def _write(header: tuple[str, ...], rows: Iterable[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode()


def render_csv(data: ScanExport, kind: CsvKind) -> bytes:
    if kind is CsvKind.FINDINGS:
        return _write(FINDING_COLUMNS, (finding_row(finding) for finding in data.findings or ()))
    return _write(PORT_COLUMNS, (port_row(port) for port in data.ports))


def render_vulnerabilities_csv(data: VulnerabilitySet) -> bytes:
    """One row per record, in the order asked."""
    return _write(VULNERABILITY_COLUMNS, (record_row(record) for record in data.records))
