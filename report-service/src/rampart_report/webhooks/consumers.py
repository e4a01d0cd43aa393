"""NATS entry points of webhook delivery: decode the event, map it, queue it for the subscribers.

Three durables of report-service (rampart.lib.callers.DURABLES["report"]): scan events (start,
final events, findings and their settlement), incident events and compliance events. A handler
only queues deliveries (idempotent per (webhook, event)); the dispatcher sends them, so a slow
endpoint never holds up the stream.
"""

from __future__ import annotations

from nats.aio.msg import Msg

from rampart.lib.catalogue import subjects
from rampart.lib.events import COMPLIANCE_EVENTS, INCIDENT_EVENTS, REPORT_EVENTS, ConsumerSpec, Outcome
from rampart.lib.scanevents import decode_scan_event, scan_events_consumer
from rampart_report.webhooks.mappers import (
    decode_compliance_changed,
    decode_incident_event,
    decode_report_event,
    webhook_event_of_compliance,
    webhook_event_of_incident,
    webhook_event_of_report,
    webhook_event_of_scan,
)
from rampart_report.webhooks.service import WebhookService

WEBHOOK_SCAN_EVENTS_CONSUMER = scan_events_consumer(subjects.REPORT_WEBHOOK_SCAN_EVENTS_DURABLE)
WEBHOOK_INCIDENT_EVENTS_CONSUMER = ConsumerSpec(
    INCIDENT_EVENTS, durable=subjects.REPORT_INCIDENT_EVENTS_DURABLE, filter_subject=subjects.INCIDENT_EVENTS
)

WEBHOOK_COMPLIANCE_EVENTS_CONSUMER = ConsumerSpec(
    COMPLIANCE_EVENTS,
    durable=subjects.REPORT_WEBHOOK_COMPLIANCE_DURABLE,
    filter_subject=subjects.COMPLIANCE_CHANGED,
)

# report.completed / report.failed from report-service's own report events (progress is skipped)
WEBHOOK_REPORT_EVENTS_CONSUMER = ConsumerSpec(
    REPORT_EVENTS, durable=subjects.REPORT_WEBHOOK_REPORT_DURABLE, filter_subject=subjects.REPORT_EVENTS
)


class ScanEventsToWebhooks:
    """scan.started, scan.completed, scan.failed, vulnerability.found / reopened / resolved;
    other scan events are skipped."""

    def __init__(self, webhooks: WebhookService) -> None:
        self._webhooks = webhooks

    async def __call__(self, message: Msg) -> Outcome:
        event = webhook_event_of_scan(decode_scan_event(message))
        return Outcome.APPLIED if event is None else await self._webhooks.publish(event)


class IncidentEventsToWebhooks:
    """incident.created and incident.updated."""

    def __init__(self, webhooks: WebhookService) -> None:
        self._webhooks = webhooks

    async def __call__(self, message: Msg) -> Outcome:
        return await self._webhooks.publish(webhook_event_of_incident(decode_incident_event(message)))


class ComplianceEventsToWebhooks:
    """compliance.changed."""

    def __init__(self, webhooks: WebhookService) -> None:
        self._webhooks = webhooks

    async def __call__(self, message: Msg) -> Outcome:
        return await self._webhooks.publish(webhook_event_of_compliance(decode_compliance_changed(message)))


class ReportEventsToWebhooks:
    """report.completed and report.failed."""

    def __init__(self, webhooks: WebhookService) -> None:
        self._webhooks = webhooks

    async def __call__(self, message: Msg) -> Outcome:
        event = webhook_event_of_report(decode_report_event(message))
        return Outcome.APPLIED if event is None else await self._webhooks.publish(event)
