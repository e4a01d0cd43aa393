"""The webhook operations: routes and OpenAPI entries, each with the scope it enforces."""

from __future__ import annotations

from rampart_gateway.api.webhooks import schemas
from rampart_gateway.api.webhooks.routes import (
    create_webhook,
    delete_webhook,
    get_webhook,
    list_deliveries,
    list_webhooks,
    ping_webhook,
    redeliver,
    rotate_secret,
    update_webhook,
)
from rampart_gateway.operations import Operation

TAG = "webhooks"
ONE = "/api/v1/webhooks/{webhook_id}"
READ, WRITE = "reports:read", "reports:write"
URL_ERRORS = ("WEBHOOK_URL_NOT_ALLOWED", "VALIDATION_ERROR")

OPERATIONS = (
    Operation(
        "POST",
        "/api/v1/webhooks",
        create_webhook,
        "Register an endpoint for events; the signing secret is shown once (docs/webhooks.md)",
        TAG,
        scope=WRITE,
        body=schemas.WebhookCreateRequest,
        response=schemas.WebhookView,
        status=201,
        errors=URL_ERRORS,
    ),
    Operation(
        "GET",
        "/api/v1/webhooks",
        list_webhooks,
        "List your webhooks",
        TAG,
        scope=READ,
        query=schemas.PageQuery,
        response=schemas.WebhookList,
        errors=("VALIDATION_ERROR",),
    ),
    Operation(
        "GET",
        ONE,
        get_webhook,
        "A webhook",
        TAG,
        scope=READ,
        response=schemas.WebhookView,
        errors=("WEBHOOK_NOT_FOUND",),
    ),
    Operation(
        "PATCH",
        ONE,
        update_webhook,
        "Change the URL, events, description or enabled",
        TAG,
        scope=WRITE,
        body=schemas.WebhookUpdateRequest,
        response=schemas.WebhookView,
        errors=("WEBHOOK_NOT_FOUND", *URL_ERRORS),
    ),
    Operation(
        "DELETE",
        ONE,
        delete_webhook,
        "Delete a webhook",
        TAG,
        scope=WRITE,
        response=schemas.Deleted,
        errors=("WEBHOOK_NOT_FOUND",),
    ),
    Operation(
        "POST",
        f"{ONE}/rotate-secret",
        rotate_secret,
        "A new signing secret (shown once); the old one also signs during the grace period",
        TAG,
        scope=WRITE,
        body=schemas.RotateSecretRequest,
        response=schemas.WebhookView,
        errors=("WEBHOOK_NOT_FOUND", "VALIDATION_ERROR"),
    ),
    Operation(
        "POST",
        f"{ONE}/test",
        ping_webhook,
        "Queue a webhook.test delivery to the endpoint",
        TAG,
        scope=WRITE,
        response=schemas.DeliveryView,
        status=202,
        errors=("WEBHOOK_NOT_FOUND",),
    ),
    Operation(
        "GET",
        f"{ONE}/deliveries",
        list_deliveries,
        "The delivery log, newest first: status, attempts, response code, latency, truncated answer",
        TAG,
        scope=READ,
        query=schemas.PageQuery,
        response=schemas.DeliveryList,
        errors=("WEBHOOK_NOT_FOUND", "VALIDATION_ERROR"),
    ),
    Operation(
        "POST",
        f"{ONE}/deliveries/{{delivery_id}}/redeliver",
        redeliver,
        "Send a delivery again (same body and X-Rampart-Delivery)",
        TAG,
        scope=WRITE,
        response=schemas.DeliveryView,
        status=202,
        errors=("WEBHOOK_NOT_FOUND", "WEBHOOK_DELIVERY_NOT_FOUND"),
    ),
)
