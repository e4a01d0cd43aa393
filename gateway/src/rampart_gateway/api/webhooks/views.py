"""Webhook messages as public JSON."""

from __future__ import annotations

from typing import Any

from rampart.report.v1 import report_pb2
from rampart_gateway.envelope import when


def webhook(message: report_pb2.Webhook) -> dict[str, Any]:
    view: dict[str, Any] = {
        "webhook_id": message.webhook_id,
        "url": message.url,
        "events": list(message.events),
        "description": message.description,
        "enabled": message.active,
        "created_at": when(message.created_at),
        "updated_at": when(message.updated_at),
        "previous_secret_expires_at": when(message.previous_secret_expires_at),
        "disabled_reason": message.disabled_reason or None,
        "disabled_at": when(message.disabled_at),
    }
    if message.secret:
        view["secret"] = message.secret
    return view


def delivery(message: report_pb2.WebhookDelivery) -> dict[str, Any]:
    return {
        "delivery_id": message.delivery_id,
        "event_id": message.event_id,
        "event": message.event,
        "status": message.status,
        "attempts": message.attempt,
        "response_code": message.status_code or None,
        "latency_ms": message.latency_ms,
        "response_body": message.response_body,
        "error": message.error,
        "created_at": when(message.created_at),
        "last_attempt_at": when(message.attempted_at),
        "next_attempt_at": when(message.next_attempt_at),
        "history": [
            {
                "attempt": a.attempt,
                "at": when(a.at),
                "status_code": a.status_code or None,
                "latency_ms": a.latency_ms,
                "error": a.error,
            }
            for a in message.attempts
        ],
    }
