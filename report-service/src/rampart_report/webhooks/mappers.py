"""Between protobuf and the webhook domain: broker events in, API messages out.

The ``data`` of each event type (docs/webhooks.md lists them):
- ``scan.started``: ``scan_id``, ``status``, ``profile``;
- ``scan.completed`` / ``scan.failed`` (the scan's final event; a timeout is a failure):
  ``scan_id``, ``status``, ``counts``, ``duration_seconds`` and, on failure, ``error``;
- ``vulnerability.found`` (a FINDING scan event whose notice is a first sighting) and
  ``vulnerability.reopened`` (a FINDING whose record's status is ``reopened``): the notice's
  fields and ``scan_id``;
- ``vulnerability.resolved`` (FINDINGS_SETTLED with ``resolved`` > 0): ``scan_id``, ``resolved``
  (records the scan showed fixed), ``findings``, ``by_severity``; threat-service announces the
  count, not each record, so this is a summary per scan;
- ``incident.created`` / ``incident.updated``: the incident's summary and the ``change``;
- ``compliance.changed``: ``control_id``, ``control_name``, ``framework``, ``from``, ``to``,
  ``framework_score``;
- ``webhook.disabled``: ``webhook_id``, ``url``, ``reason``, ``disabled_at``.
"""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf.message import DecodeError
from google.protobuf.timestamp_pb2 import Timestamp
from nats.aio.msg import Msg

from rampart.common.v1 import common_pb2
from rampart.lib.events import PoisonMessage
from rampart.lib.ids import from_timestamp, utcnow
from rampart.report.v1 import report_pb2
from rampart.scan.v1 import scan_pb2
from rampart.threat.v1 import threat_pb2
from rampart_report.webhooks.domain import Delivery, DeliveryStatus, Webhook, WebhookEvent

FINAL = {
    scan_pb2.SCAN_EVENT_TYPE_COMPLETED: "scan.completed",
    scan_pb2.SCAN_EVENT_TYPE_FAILED: "scan.failed",
    scan_pb2.SCAN_EVENT_TYPE_TIMEOUT: "scan.failed",
}
SCAN_STATUS = {
    value: name.removeprefix("SCAN_STATUS_").lower() for name, value in scan_pb2.ScanStatus.items()
}
INCIDENT_STATUS = {
    value: name.removeprefix("INCIDENT_STATUS_").lower() for name, value in threat_pb2.IncidentStatus.items()
}
CHANGE_KIND = {
    value: name.removeprefix("INCIDENT_CHANGE_KIND_").lower()
    for name, value in threat_pb2.IncidentChangeKind.items()
}
SEVERITY = {value: name.removeprefix("SEVERITY_").lower() for name, value in common_pb2.Severity.items()}


def webhook_event_of_scan(event: scan_pb2.ScanEvent) -> WebhookEvent | None:
    """The webhook event a scan event is, or None for the ones webhooks do not carry."""
    created = from_timestamp(event.occurred_at) or utcnow()
    if event.type in FINAL:
        data: dict[str, object] = {
            "scan_id": event.scan_id,
            "status": SCAN_STATUS.get(event.status, "unknown"),
            "counts": {
                "open": event.summary.open,
                "closed": event.summary.closed,
                "filtered": event.summary.filtered,
                "total_scanned": event.summary.total_scanned,
            },
            "duration_seconds": event.duration_seconds,
        }
        if event.HasField("error"):
            data["error"] = {"code": event.error.code, "message": event.error.message}
        return WebhookEvent(event.event_id, FINAL[event.type], event.owner.org_id, created, data)
    if event.type == scan_pb2.SCAN_EVENT_TYPE_STARTED:
        started: dict[str, object] = {
            "scan_id": event.scan_id,
            "status": SCAN_STATUS.get(event.status, "running"),
            "profile": event.profile,
        }
        return WebhookEvent(event.event_id, "scan.started", event.owner.org_id, created, started)
    if event.type == scan_pb2.SCAN_EVENT_TYPE_FINDINGS_SETTLED and event.settled.resolved > 0:
        settled: dict[str, object] = {
            "scan_id": event.scan_id,
            "resolved": event.settled.resolved,
            "findings": event.settled.findings,
            "by_severity": dict(sorted(event.settled.by_severity.items())),
        }
        return WebhookEvent(event.event_id, "vulnerability.resolved", event.owner.org_id, created, settled)
    if event.type == scan_pb2.SCAN_EVENT_TYPE_FINDING:
        notice = event.finding
        if notice.first_sighting:
            kind = "vulnerability.found"
        elif notice.status == "reopened":
            kind = "vulnerability.reopened"
        else:
            return None
        found: dict[str, object] = {
            "scan_id": event.scan_id,
            "vulnerability_id": notice.vulnerability_id,
            "fingerprint": notice.fingerprint,
            "type": notice.type,
            "severity": notice.severity,
            "title": notice.title,
            "host": notice.host,
            "port": notice.port,
            "protocol": notice.protocol,
            "cve": notice.cve,
            "rule_id": notice.rule_id,
            "status": notice.status,
            "confidence": notice.confidence,
            "priority": notice.priority,
        }
        return WebhookEvent(event.event_id, kind, event.owner.org_id, created, found)
    return None


def decode_incident_event(message: Msg) -> threat_pb2.IncidentEvent:
    event = threat_pb2.IncidentEvent()
    try:
        event.ParseFromString(message.data)
    except DecodeError as error:
        raise PoisonMessage(f"undecodable incident event: {error}") from error
    if not event.event_id or not event.incident.owner.org_id or not event.type:
        raise PoisonMessage("incident event lacks event_id, type or owner")
    return event


def webhook_event_of_incident(event: threat_pb2.IncidentEvent) -> WebhookEvent:
    incident = event.incident
    data: dict[str, object] = {
        "incident_id": incident.incident_id,
        "title": incident.title,
        "severity": SEVERITY.get(incident.severity, "unknown"),
        "status": INCIDENT_STATUS.get(incident.status, "unknown"),
        "assignee": incident.assignee,
        "affected_systems": list(incident.affected_systems),
        "rule_id": incident.rule_id,
    }
    if event.HasField("change"):
        data["change"] = {
            "kind": CHANGE_KIND.get(event.change.kind, "unknown"),
            "actor": event.change.actor,
            "from": event.change.from_value,
            "to": event.change.to_value,
        }
    created = from_timestamp(event.occurred_at) or utcnow()
    return WebhookEvent(event.event_id, event.type, incident.owner.org_id, created, data)


CONTROL_STATUS = {
    value: name.removeprefix("CONTROL_STATUS_").lower() for name, value in report_pb2.ControlStatus.items()
}


def decode_compliance_changed(message: Msg) -> report_pb2.ComplianceChanged:
    event = report_pb2.ComplianceChanged()
    try:
        event.ParseFromString(message.data)
    except DecodeError as error:
        raise PoisonMessage(f"undecodable compliance event: {error}") from error
    if not event.event_id or not event.owner.org_id or not event.control_id:
        raise PoisonMessage("compliance event lacks event_id, owner or control_id")
    return event


def webhook_event_of_compliance(event: report_pb2.ComplianceChanged) -> WebhookEvent:
    data: dict[str, object] = {
        "control_id": event.control_id,
        "control_name": event.control_name,
        "framework": event.framework,
        "from": CONTROL_STATUS.get(event.from_status, "unknown"),
        "to": CONTROL_STATUS.get(event.to_status, "unknown"),
        "framework_score": event.framework_score,
    }
    created = from_timestamp(event.occurred_at) or utcnow()
    return WebhookEvent(event.event_id, "compliance.changed", event.owner.org_id, created, data)


def _stamp(seconds: float) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(datetime.fromtimestamp(seconds, UTC))
    return stamp


def webhook_message(webhook: Webhook, secret: str = "", now: float = 0.0) -> report_pb2.Webhook:
    message = report_pb2.Webhook(
        webhook_id=webhook.webhook_id,
        owner=common_pb2.Owner(org_id=webhook.org_id, user_id=webhook.user_id),
        url=webhook.url,
        events=list(webhook.events),
        active=webhook.enabled,
        description=webhook.description,
        secret=secret,
    )
    message.created_at.CopyFrom(_stamp(webhook.created_at))
    message.updated_at.CopyFrom(_stamp(webhook.updated_at))
    if webhook.disabled_at:
        message.disabled_reason = webhook.disabled_reason
        message.disabled_at.CopyFrom(_stamp(webhook.disabled_at))
    if webhook.previous_valid(now) is not None:
        message.previous_secret_expires_at.CopyFrom(_stamp(webhook.previous_expires_at))
    return message


def delivery_message(delivery: Delivery) -> report_pb2.WebhookDelivery:
    last = delivery.last
    message = report_pb2.WebhookDelivery(
        delivery_id=delivery.delivery_id,
        webhook_id=delivery.webhook_id,
        event=delivery.event_type,
        event_id=delivery.event_id,
        attempt=delivery.attempts,
        status=delivery.status.value,
        delivered=delivery.status is DeliveryStatus.DELIVERED,
        status_code=last.status_code if last else 0,
        error=last.error if last else "",
        latency_ms=last.latency_ms if last else 0,
        response_body=last.response_body if last else "",
        attempts=[
            report_pb2.WebhookAttempt(
                attempt=a.attempt,
                at=_stamp(a.at),
                status_code=a.status_code,
                latency_ms=a.latency_ms,
                error=a.error,
            )
            for a in delivery.log
        ],
    )
    message.created_at.CopyFrom(_stamp(delivery.created_at))
    if last:
        message.attempted_at.CopyFrom(_stamp(last.at))
    if delivery.status is DeliveryStatus.PENDING and delivery.next_attempt_at:
        message.next_attempt_at.CopyFrom(_stamp(delivery.next_attempt_at))
    return message


# ---- report.completed / report.failed (issue 13) ------------------------------------------
REPORT_TYPE = {
    value: name.removeprefix("REPORT_TYPE_").lower() for name, value in report_pb2.ReportType.items()
}
REPORT_FORMAT = {value: name.removeprefix("FORMAT_").lower() for name, value in report_pb2.Format.items()}
REPORT_FINAL = {"report.completed", "report.failed"}


def decode_report_event(message: Msg) -> report_pb2.ReportEvent:
    event = report_pb2.ReportEvent()
    try:
        event.ParseFromString(message.data)
    except DecodeError as error:
        raise PoisonMessage(f"undecodable report event: {error}") from error
    if not event.event_id or not event.report.owner.org_id or not event.type:
        raise PoisonMessage("report event lacks event_id, type or owner")
    return event


def webhook_event_of_report(event: report_pb2.ReportEvent) -> WebhookEvent | None:
    """``report.completed`` / ``report.failed``; progress events are not webhooks."""
    if event.type not in REPORT_FINAL:
        return None
    report = event.report
    data: dict[str, object] = {
        "report_id": report.report_id,
        "title": report.title,
        "report_type": REPORT_TYPE.get(report.report_type, "unknown"),
        "format": REPORT_FORMAT.get(report.format, "unknown"),
        "scan_ids": list(report.scan_ids),
        "sandbox": report.sandbox,
    }
    if event.type == "report.completed":
        expires = from_timestamp(report.expires_at) if report.HasField("expires_at") else None
        data.update(
            size_bytes=report.size_bytes,
            sha256=report.sha256,
            filename=report.filename,
            content_type=report.content_type,
            download=f"/api/v1/reports/{report.report_id}/download",
            expires_at=expires.isoformat().replace("+00:00", "Z") if expires else None,
        )
    else:
        data["error"] = report.error
    created = from_timestamp(event.occurred_at) or utcnow()
    return WebhookEvent(event.event_id, event.type, report.owner.org_id, created, data)
