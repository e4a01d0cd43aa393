"""JSON: the scan, its ports and its findings as one object (field names as in the API)."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from typing import Any

from rampart_report.exports.model import (
    FindingEntry,
    PortEntry,
    ScanExport,
    VulnerabilityRecord,
    VulnerabilitySet,
)


def _instant(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def _port(port: PortEntry) -> dict[str, Any]:
    item = asdict(port)
    item["tls_protocols"], item["tls_weaknesses"] = list(port.tls_protocols), list(port.tls_weaknesses)
    return item


def _finding(finding: FindingEntry) -> dict[str, Any]:
    item = asdict(finding)
    item["id"] = item.pop("subject")
    item["cwe"], item["references"] = list(finding.cwe), list(finding.references)
    item["evidence"] = dict(finding.evidence)
    item["first_seen"] = _instant(finding.first_seen)
    return item


def export_object(data: ScanExport) -> dict[str, Any]:
    scan = asdict(data.scan)
    scan["targets"] = list(data.scan.targets)
    scan["created_at"], scan["completed_at"] = (
        _instant(data.scan.created_at),
        _instant(data.scan.completed_at),
    )
    findings = None if data.findings is None else [_finding(finding) for finding in data.findings]
    return {
        "scan": scan,
        "generated_at": _instant(data.generated_at),
        "ports": [_port(port) for port in data.ports],
        "findings": findings,
        "findings_note": data.findings_note or None,
    }


def render_json(data: ScanExport) -> bytes:
    return json.dumps(export_object(data), indent=2, ensure_ascii=False).encode()


def _record(record: VulnerabilityRecord) -> dict[str, Any]:
    item = {"vulnerability_id": record.vulnerability_id} | _finding(record.finding)
    item["last_seen"] = _instant(record.last_seen)
    item["first_scan_id"], item["last_scan_id"] = record.first_scan_id, record.last_scan_id
    item["sightings"] = record.sightings
    return item


def vulnerabilities_object(data: VulnerabilitySet) -> dict[str, Any]:
    return {
        "generated_at": _instant(data.generated_at),
        "sandbox": data.sandbox,
        "filters": dict(data.filters),
        "sort": data.sort,
        "order": "desc" if data.descending else "asc",
        "count": len(data.records),
        "vulnerabilities": [_record(record) for record in data.records],
    }


def render_vulnerabilities_json(data: VulnerabilitySet) -> bytes:
    return json.dumps(vulnerabilities_object(data), indent=2, ensure_ascii=False).encode()
