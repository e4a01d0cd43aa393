"""What happens when the dispatcher switches an endpoint off: ``webhook.disabled`` on the broker
(stream WEBHOOK_EVENTS, through report-service's outbox, so it is not lost) and to the organisation's
other webhooks subscribed to ``webhook.disabled``; the API shows ``disabled_reason`` / ``disabled_at``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from rampart.common.v1 import common_pb2
from rampart.lib.catalogue import subjects
from rampart.lib.ids import to_timestamp
from rampart.report.v1 import report_pb2
from rampart_report.webhooks.domain import Webhook
from rampart_report.webhooks.service import WebhookService, disabled_event_id

Publish = Callable[[str, bytes, str], Awaitable[None]]  # (subject, data, message id): Outbox.add


def disabled_event(webhook: Webhook) -> report_pb2.WebhookDisabled:
    return report_pb2.WebhookDisabled(
        event_id=disabled_event_id(webhook),
        owner=common_pb2.Owner(org_id=webhook.org_id),
        webhook_id=webhook.webhook_id,
        url=webhook.url,
        reason=webhook.disabled_reason,
        occurred_at=to_timestamp(datetime.fromtimestamp(webhook.disabled_at, UTC)),
    )


class DisabledNotifier:
    """The dispatcher's ``on_disabled``."""

    def __init__(self, webhooks: WebhookService, publish: Publish | None) -> None:
        self._webhooks = webhooks
        self._publish = publish

    async def __call__(self, webhook: Webhook) -> None:
        if self._publish is not None:
            event = disabled_event(webhook)
            await self._publish(subjects.WEBHOOK_DISABLED, event.SerializeToString(), event.event_id)
        await self._webhooks.announce_disabled(webhook)
