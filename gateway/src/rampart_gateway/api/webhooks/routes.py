"""Webhooks: decode, call report-service, encode. Scopes are checked before a handler runs."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from rampart.report.v1 import report_pb2
from rampart_gateway.api.webhooks import views
from rampart_gateway.api.webhooks.schemas import (
    PageQuery,
    RotateSecretRequest,
    WebhookCreateRequest,
    WebhookUpdateRequest,
)
from rampart_gateway.envelope import ok
from rampart_gateway.inputs import read_json, read_query
from rampart_gateway.operations import caller

TIMEOUT = 15.0


async def create_webhook(request: Request) -> Response:
    body = await read_json(request, WebhookCreateRequest)
    reply = await request.state.clients.report.CreateWebhook(
        report_pb2.CreateWebhookRequest(
            owner=caller(request).owner,
            url=body.url,
            events=body.events,
            secret=body.secret,
            description=body.description,
            enabled=body.enabled,
        ),
        timeout=TIMEOUT,
    )
    return ok(request, views.webhook(reply), status_code=201)


async def list_webhooks(request: Request) -> Response:
    query = read_query(request, PageQuery)
    reply = await request.state.clients.report.ListWebhooks(
        report_pb2.ListWebhooksRequest(
            owner=caller(request).owner, page_size=query.per_page, page_token=query.cursor
        ),
        timeout=TIMEOUT,
    )
    items = [views.webhook(hook) for hook in reply.webhooks]
    return ok(
        request, {"items": items, "per_page": query.per_page, "next_cursor": reply.next_page_token or None}
    )


async def get_webhook(request: Request) -> Response:
    reply = await request.state.clients.report.GetWebhook(
        report_pb2.GetWebhookRequest(
            owner=caller(request).owner, webhook_id=request.path_params["webhook_id"]
        ),
        timeout=TIMEOUT,
    )
    return ok(request, views.webhook(reply))


async def update_webhook(request: Request) -> Response:
    body = await read_json(request, WebhookUpdateRequest)
    message = report_pb2.UpdateWebhookRequest(
        owner=caller(request).owner, webhook_id=request.path_params["webhook_id"]
    )
    if body.url is not None:
        message.url = body.url
    if body.events is not None:
        message.events.extend(body.events)
        message.replace_events = True
    if body.description is not None:
        message.description = body.description
    if body.enabled is not None:
        message.enabled = body.enabled
    reply = await request.state.clients.report.UpdateWebhook(message, timeout=TIMEOUT)
    return ok(request, views.webhook(reply))


async def delete_webhook(request: Request) -> Response:
    webhook_id = request.path_params["webhook_id"]
    await request.state.clients.report.DeleteWebhook(
        report_pb2.DeleteWebhookRequest(owner=caller(request).owner, webhook_id=webhook_id),
        timeout=TIMEOUT,
    )
    return ok(request, {"webhook_id": webhook_id, "deleted": True})


async def rotate_secret(request: Request) -> Response:
    body = await read_json(request, RotateSecretRequest)
    reply = await request.state.clients.report.RotateWebhookSecret(
        report_pb2.RotateWebhookSecretRequest(
            owner=caller(request).owner,
            webhook_id=request.path_params["webhook_id"],
            secret=body.secret,
            grace_seconds=body.grace_seconds,
        ),
        timeout=TIMEOUT,
    )
    return ok(request, views.webhook(reply))


async def ping_webhook(request: Request) -> Response:
    reply = await request.state.clients.report.TestWebhook(
        report_pb2.TestWebhookRequest(
            owner=caller(request).owner, webhook_id=request.path_params["webhook_id"]
        ),
        timeout=TIMEOUT,
    )
    return ok(request, views.delivery(reply), status_code=202)


async def list_deliveries(request: Request) -> Response:
    query = read_query(request, PageQuery)
    reply = await request.state.clients.report.ListWebhookDeliveries(
        report_pb2.ListWebhookDeliveriesRequest(
            owner=caller(request).owner,
            webhook_id=request.path_params["webhook_id"],
            page_size=query.per_page,
            page_token=query.cursor,
        ),
        timeout=TIMEOUT,
    )
    items = [views.delivery(item) for item in reply.deliveries]
    return ok(
        request, {"items": items, "per_page": query.per_page, "next_cursor": reply.next_page_token or None}
    )


async def redeliver(request: Request) -> Response:
    reply = await request.state.clients.report.RedeliverWebhookDelivery(
        report_pb2.RedeliverWebhookDeliveryRequest(
            owner=caller(request).owner,
            webhook_id=request.path_params["webhook_id"],
            delivery_id=request.path_params["delivery_id"],
        ),
        timeout=TIMEOUT,
    )
    return ok(request, views.delivery(reply), status_code=202)
