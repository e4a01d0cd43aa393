"""NATS subjects, JetStream streams and durable consumers: the one list of their names."""

from __future__ import annotations

# ---- streams (JetStream) -------------------------------------------------------------
SCAN_EVENTS_STREAM = "SCAN_EVENTS"
SCAN_JOBS_STREAM = "SCAN_JOBS"
AUTH_EVENTS_STREAM = "AUTH_EVENTS"
INCIDENT_EVENTS_STREAM = "INCIDENT_EVENTS"
THREAT_EVENTS_STREAM = "THREAT_EVENTS"
COMPLIANCE_EVENTS_STREAM = "COMPLIANCE_EVENTS"
WEBHOOK_EVENTS_STREAM = "WEBHOOK_EVENTS"
REPORT_JOBS_STREAM = "REPORT_JOBS"
REPORT_EVENTS_STREAM = "REPORT_EVENTS"
CHANGE_EVENTS_STREAM = "CHANGE_EVENTS"  # change monitoring (issue 13): report-service's ScanChanged

# ---- subjects --------------------------------------------------------------------------
SCAN_EVENTS = "scan.events.>"  # scan.events.<scan_id>.<type>, ScanEvent
SCAN_FINDINGS = "scan.events.*.finding"  # threat-service: a finding of one scan (on SCAN_EVENTS)
SCAN_FINDINGS_SETTLED = "scan.events.*.findings_settled"  # threat-service: a scan's findings are final
SCAN_JOBS = "scan.jobs"  # ScanJob, the workers' work queue
SCAN_CANCEL = "scan.control.cancel"  # core NATS: the scan id to stop
WORKER_HEARTBEAT = "scan.workers.heartbeat"  # core NATS: {"worker", "running", "capacity"}
AUTH_EVENTS = "auth.events.>"
KEY_REVOKED_ANY = "auth.events.key_revoked.*"  # ApiKeyRevoked
INCIDENT_EVENTS = "incident.>"  # IncidentEvent, for webhooks and other listeners
INCIDENT_CREATED = "incident.created"
INCIDENT_UPDATED = "incident.updated"
THREAT_EVENTS = "threat.>"  # threat-service's own events
ANALYSIS_COMPLETED = "threat.analyses.completed"  # AnalysisCompleted, read by incident rules
COMPLIANCE_EVENTS = "compliance.>"  # report-service's compliance events
COMPLIANCE_CHANGED = "compliance.changed"  # ComplianceChanged: a control's status changed
WEBHOOK_EVENTS = "webhook.>"  # report-service's webhook events
WEBHOOK_DISABLED = "webhook.disabled"  # WebhookDisabled: an endpoint failing too long was switched off
REPORT_JOBS = "report.jobs"  # ReportJob, the report workers' work queue
REPORT_EVENTS = "report.events.>"  # report.events.<report_id>.<kind>, ReportEvent
CHANGE_EVENTS = "change.>"  # report-service's change monitoring
SCAN_CHANGED = "change.scan.*"  # change.scan.<scan_id>, ScanChanged: what changed since the previous scan

# ---- durable consumers -----------------------------------------------------------------
SCAN_WORKERS_DURABLE = "scan-workers"
THREAT_SCAN_EVENTS_DURABLE = "threat-scan-events"
THREAT_ASSET_EVENTS_DURABLE = "threat-scan-events-assets"  # the asset inventory, apart from findings
REPORT_SCAN_EVENTS_DURABLE = "report-scan-events"
THREAT_ANALYSES_DURABLE = "threat-analyses"  # incident rules on completed analyses
REPORT_INCIDENT_EVENTS_DURABLE = "report-incident-events"  # webhook delivery of incident events
REPORT_WEBHOOK_SCAN_EVENTS_DURABLE = "report-webhook-scan-events"  # webhooks: scan and finding events
REPORT_WEBHOOK_COMPLIANCE_DURABLE = "report-webhook-compliance-events"  # webhooks: compliance.changed
REPORT_POSTURE_SCAN_EVENTS_DURABLE = "report-posture-scan-events"  # findings change: recompute posture
REPORT_WORKERS_DURABLE = "report-workers"  # report generation jobs
REPORT_CHANGE_SCAN_EVENTS_DURABLE = "report-change-scan-events"  # findings settled: diff the scan
REPORT_WEBHOOK_CHANGE_DURABLE = "report-webhook-change-events"  # webhooks: scan.changed
REPORT_WEBHOOK_REPORT_DURABLE = "report-webhook-report-events"  # webhooks: report.completed / failed


def scan_event(scan_id: str, kind: str) -> str:
    """The subject of one scan event, e.g. ``scan.events.scan_x.port_found``."""
    return f"scan.events.{scan_id}.{kind}"


def scan_events_of(scan_id: str) -> str:
    """Every event of one scan."""
    return f"scan.events.{scan_id}.>"


def key_revoked(key_id: str) -> str:
    """The subject announcing that one API key was revoked."""
    return f"auth.events.key_revoked.{key_id}"


def report_event(report_id: str, kind: str) -> str:
    """The subject of one report event: kind is progress, completed or failed."""
    return f"report.events.{report_id}.{kind}"


def report_events_of(report_id: str) -> str:
    """Every event of one report."""
    return f"report.events.{report_id}.>"


def scan_changed(scan_id: str) -> str:
    """The subject of one scan's ScanChanged."""
    return f"change.scan.{scan_id}"
