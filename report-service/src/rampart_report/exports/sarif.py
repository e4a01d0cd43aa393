"""SARIF 2.1.0: one run per scan; a rule per rule id or CVE; a result per finding.

Location convention for network assets (there is no file): each result has a physicalLocation whose
artifactLocation URI is ``<protocol>://<host>:<port>`` (IPv6 hosts in brackets, e.g.
``tcp://[2001:db8::1]:443``) and a logicalLocation of kind ``resource`` named ``<host>:<port>/<protocol>``
that also carries the detected service. ``partialFingerprints["rampart/v1"]`` is the finding's own
fingerprint, so a consumer de-duplicates the same problem across uploads.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from rampart_report.exports.model import SEVERITIES, FindingEntry, ScanExport, VulnerabilitySet

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
FINGERPRINT_KEY = "rampart/v1"
# security-severity when a finding has no CVSS score: the middle of each CVSS v3 band.
SEVERITY_SCORES = {"critical": 9.5, "high": 8.0, "medium": 5.5, "low": 2.0, "info": 0.0}
LEVELS = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
ANALYSIS_NAME = "rampart-network-scan"
VULNERABILITIES_ANALYSIS_NAME = "rampart-vulnerabilities"
TOOL_VERSION = "0.1.0"


def endpoint_uri(host: str, port: int, protocol: str) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"{protocol or 'tcp'}://{shown}:{port}"


def security_severity(finding: FindingEntry) -> str:
    score = finding.cvss_score if finding.cvss_score is not None else SEVERITY_SCORES[finding.severity]
    return f"{score:.1f}"


def rule_descriptor(finding: FindingEntry) -> dict[str, Any]:
    """The rule as SARIF describes it, from the metadata the finding carries."""
    help_text = finding.remediation or "No remediation recorded."
    references = "".join(f"\n- {reference}" for reference in finding.references)
    tags = ["security", finding.type, *(f"external/cwe/{cwe.lower()}" for cwe in finding.cwe)]
    properties: dict[str, Any] = {
        "tags": tags,
        "security-severity": security_severity(finding),
        "precision": "high" if finding.confidence in ("", "confirmed") else "medium",
        "cwe": list(finding.cwe),
    }
    if finding.cvss_score is not None:
        properties["cvss"] = {"score": finding.cvss_score, "vector": finding.cvss_vector}
    rule: dict[str, Any] = {
        "id": finding.subject,
        "name": finding.subject.replace("-", ""),
        "shortDescription": {"text": finding.title},
        "fullDescription": {"text": finding.description or finding.title},
        "help": {
            "text": help_text + references.replace("\n- ", "\n"),
            "markdown": f"**Remediation.** {help_text}"
            + (f"\n\nReferences:{references}" if references else ""),
        },
        "defaultConfiguration": {"level": LEVELS[finding.severity]},
        "properties": properties,
    }
    if finding.references:
        rule["helpUri"] = finding.references[0]
    return rule


def _result(finding: FindingEntry, rule_index: int) -> dict[str, Any]:
    where = f"{finding.host}:{finding.port}/{finding.protocol}"
    message = f"{finding.title} on {where}" + (f" ({finding.service})" if finding.service else "")
    properties: dict[str, Any] = {
        "severity": finding.severity,
        "status": finding.status,
        "confidence": finding.confidence,
        "evidence": dict(finding.evidence),
    }
    if finding.kev:
        properties["kev"] = True
    if finding.epss is not None:
        properties["epss"] = finding.epss
    return {
        "ruleId": finding.subject,
        "ruleIndex": rule_index,
        "level": LEVELS[finding.severity],
        "message": {"text": message},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": endpoint_uri(finding.host, finding.port, finding.protocol)}
                },
                "logicalLocations": [
                    {"name": where, "fullyQualifiedName": where, "kind": "resource"}
                    | ({"decoratedName": finding.service} if finding.service else {})
                ],
            }
        ],
        "partialFingerprints": {FINGERPRINT_KEY: finding.fingerprint},
        "properties": properties,
    }


def _order(finding: FindingEntry) -> tuple[int, str, int, str]:
    return (SEVERITIES.index(finding.severity), finding.host, finding.port, finding.subject)


def _rules_and_results(
    findings: list[FindingEntry], extra: dict[str, dict[str, Any]] | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The run's rules (one per rule id or CVE, first seen first) and a result per finding;
    ``extra`` adds properties to the result of the finding with that fingerprint."""
    rules: dict[str, dict[str, Any]] = {}
    indexes: dict[str, int] = {}
    results = []
    for finding in findings:
        if finding.subject not in rules:
            indexes[finding.subject] = len(rules)
            rules[finding.subject] = rule_descriptor(finding)
        result = _result(finding, indexes[finding.subject])
        if extra and finding.fingerprint in extra:
            result["properties"] |= extra[finding.fingerprint]
        results.append(result)
    return list(rules.values()), results


def _utc(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def sarif_log(data: ScanExport, tool_version: str = TOOL_VERSION) -> dict[str, Any]:
    rules, results = _rules_and_results(sorted(data.findings or (), key=_order))
    invocation: dict[str, Any] = {"executionSuccessful": data.scan.status == "completed"}
    if data.scan.created_at is not None:
        invocation["startTimeUtc"] = _utc(data.scan.created_at)
    if data.scan.completed_at is not None:
        invocation["endTimeUtc"] = _utc(data.scan.completed_at)
    if data.findings is None:
        note = data.findings_note or "findings unavailable"
        invocation["toolExecutionNotifications"] = [{"message": {"text": note}, "level": "warning"}]
    targets = ",".join(sorted(data.scan.targets))
    run = {
        "tool": {"driver": {"name": "Rampart", "version": tool_version, "rules": rules}},
        "automationDetails": {"id": f"{ANALYSIS_NAME}/{targets}/{data.scan.scan_id}"},
        "invocations": [invocation],
        "results": results,
        "properties": {"scanId": data.scan.scan_id, "targets": list(data.scan.targets)},
    }
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


def vulnerabilities_sarif_log(data: VulnerabilitySet, tool_version: str = TOOL_VERSION) -> dict[str, Any]:
    """One run holding the chosen records in the order asked; each result also names its record."""
    extra = {
        record.finding.fingerprint: {
            "vulnerabilityId": record.vulnerability_id,
            "lastScanId": record.last_scan_id,
        }
        for record in data.records
    }
    rules, results = _rules_and_results(list(data.findings), extra)
    generated = _utc(data.generated_at) if data.generated_at is not None else "unknown"
    invocation: dict[str, Any] = {"executionSuccessful": True}
    if data.generated_at is not None:
        invocation["endTimeUtc"] = generated
    run = {
        "tool": {"driver": {"name": "Rampart", "version": tool_version, "rules": rules}},
        "automationDetails": {"id": f"{VULNERABILITIES_ANALYSIS_NAME}/{generated}"},
        "invocations": [invocation],
        "results": results,
        "properties": {"filters": dict(data.filters), "sandbox": data.sandbox},
    }
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


def render_sarif(data: ScanExport) -> bytes:
    return json.dumps(sarif_log(data), indent=2, ensure_ascii=False).encode()


def render_vulnerabilities_sarif(data: VulnerabilitySet) -> bytes:
    return json.dumps(vulnerabilities_sarif_log(data), indent=2, ensure_ascii=False).encode()
