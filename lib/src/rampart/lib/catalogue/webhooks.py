"""The webhook events: the one list, read by report-service (checked when a webhook is created or
changed, each with its source) and by the gateway (the OpenAPI enum). docs/webhooks.md documents
each payload."""

from __future__ import annotations

# name -> where it comes from
WEBHOOK_EVENTS: dict[str, str] = {
    "scan.started": "the scan's STARTED event (scan-service)",
    "scan.completed": "the scan's COMPLETED event",
    "scan.failed": "the scan's FAILED or TIMEOUT event",
    "vulnerability.found": "a FINDING notice that created its vulnerability record (threat-service)",
    "vulnerability.reopened": "a FINDING notice whose record's status is reopened",
    "vulnerability.resolved": "FINDINGS_SETTLED of a scan that showed records fixed (a summary per scan)",
    "incident.created": "incident.created (threat-service)",
    "incident.updated": "incident.updated (threat-service)",
    "compliance.changed": "compliance.changed: a control's status changed (report-service)",
    "webhook.disabled": "one of the organisation's webhooks was switched off after failing too long",
    # change monitoring and reports (issue 13)
    "scan.changed": "ScanChanged: a completed scan differs from the previous one of the same targets, "
    "filtered by the organisation's alert preferences (report-service)",
    "report.completed": "a report's file is ready (report.events.<id>.completed, report-service)",
    "report.failed": "a report could not be generated (report.events.<id>.failed)",
}
# Named by an issue but published by nothing yet: refused with the reason (none today).
NOT_PUBLISHED: dict[str, str] = {}

# The kinds of change a scan.changed alert selects (issue 13; report-service's alerts/model.py
# holds their defaults, docs/alerts.md documents them).
ALERT_KINDS: tuple[str, ...] = (
    "new_open_port",
    "port_closed",
    "host_up",
    "host_down",
    "service_changed",
    "certificate_changed",
    "certificate_expiring",
    "new_finding",
    "finding_reopened",
    "finding_resolved",
)
ALERT_SEVERITIES: tuple[str, ...] = ("info", "low", "medium", "high", "critical")
ALERT_MAX_DAYS = 90
