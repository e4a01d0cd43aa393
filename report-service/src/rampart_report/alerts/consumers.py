"""NATS entry point of ``scan.changed`` webhooks: durable ``report-webhook-change-events`` on
CHANGE_EVENTS (filter ``change.scan.*``). The organisation's preferences select the changes; the
delivery id per (webhook, event id) makes a redelivered ScanChanged queue nothing twice."""

from __future__ import annotations

from nats.aio.msg import Msg

from rampart.lib.catalogue import subjects
from rampart.lib.events import CHANGE_EVENTS, ConsumerSpec, Outcome
from rampart_report.alerts.mappers import decode_scan_changed, scan_change
from rampart_report.alerts.service import AlertService
from rampart_report.webhooks.service import WebhookService

WEBHOOK_CHANGE_EVENTS_CONSUMER = ConsumerSpec(
    CHANGE_EVENTS, durable=subjects.REPORT_WEBHOOK_CHANGE_DURABLE, filter_subject=subjects.SCAN_CHANGED
)


class ScanChangedToWebhooks:
    def __init__(self, alerts: AlertService, webhooks: WebhookService) -> None:
        self._alerts = alerts
        self._webhooks = webhooks

    async def __call__(self, message: Msg) -> Outcome:
        event = await self._alerts.webhook_event(scan_change(decode_scan_changed(message)))
        return Outcome.APPLIED if event is None else await self._webhooks.publish(event)
