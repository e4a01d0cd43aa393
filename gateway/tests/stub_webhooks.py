"""report-service's webhook RPCs in memory, enough to check the gateway's side of them."""

from __future__ import annotations

import itertools

import grpc

from gateway.tests.stub_services import Call, StubService, rpc_error
from rampart.report.v1 import report_pb2


class StubWebhooks(StubService):
    """Webhooks by id per organisation; another organisation's is not found, like the real one."""

    def __init__(self) -> None:
        super().__init__()
        self.webhooks: dict[str, report_pb2.Webhook] = {}
        self.deliveries: dict[str, report_pb2.WebhookDelivery] = {}
        self._ids = itertools.count(1)

    def _own(self, org_id: str, webhook_id: str) -> report_pb2.Webhook:
        found = self.webhooks.get(webhook_id)
        if found is None or found.owner.org_id != org_id:
            raise rpc_error(grpc.StatusCode.NOT_FOUND, "webhook not found", "WEBHOOK_NOT_FOUND")
        return found

    def CreateWebhook(self, request: report_pb2.CreateWebhookRequest, timeout: float) -> Call:
        def create() -> report_pb2.Webhook:
            if "10.0.0.1" in request.url:
                raise rpc_error(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    "webhook URL refused",
                    "WEBHOOK_URL_NOT_ALLOWED",
                    field="url",
                )
            hook = report_pb2.Webhook(
                webhook_id=f"whk_{next(self._ids):04d}",
                owner=request.owner,
                url=request.url,
                events=request.events,
                description=request.description,
                active=request.enabled,
            )
            self.webhooks[hook.webhook_id] = hook
            shown = report_pb2.Webhook()
            shown.CopyFrom(hook)
            shown.secret = request.secret or "whsec_generated"
            return shown

        return self._call("CreateWebhook", request, create)

    def GetWebhook(self, request: report_pb2.GetWebhookRequest, timeout: float) -> Call:
        return self._call("GetWebhook", request, lambda: self._own(request.owner.org_id, request.webhook_id))

    def ListWebhooks(self, request: report_pb2.ListWebhooksRequest, timeout: float) -> Call:
        def page() -> report_pb2.ListWebhooksResponse:
            mine = [w for w in self.webhooks.values() if w.owner.org_id == request.owner.org_id]
            return report_pb2.ListWebhooksResponse(webhooks=mine)

        return self._call("ListWebhooks", request, page)

    def UpdateWebhook(self, request: report_pb2.UpdateWebhookRequest, timeout: float) -> Call:
        def update() -> report_pb2.Webhook:
            hook = self._own(request.owner.org_id, request.webhook_id)
            if request.HasField("enabled"):
                hook.active = request.enabled
            if request.replace_events:
                del hook.events[:]
                hook.events.extend(request.events)
            return hook

        return self._call("UpdateWebhook", request, update)

    def DeleteWebhook(self, request: report_pb2.DeleteWebhookRequest, timeout: float) -> Call:
        def delete() -> report_pb2.DeleteWebhookResponse:
            self._own(request.owner.org_id, request.webhook_id)
            del self.webhooks[request.webhook_id]
            return report_pb2.DeleteWebhookResponse()

        return self._call("DeleteWebhook", request, delete)

    def RotateWebhookSecret(self, request: report_pb2.RotateWebhookSecretRequest, timeout: float) -> Call:
        def rotate() -> report_pb2.Webhook:
            shown = report_pb2.Webhook()
            shown.CopyFrom(self._own(request.owner.org_id, request.webhook_id))
            shown.secret = request.secret or "whsec_rotated"
            shown.previous_secret_expires_at.FromSeconds(2_000_000_000)
            return shown

        return self._call("RotateWebhookSecret", request, rotate)

    def TestWebhook(self, request: report_pb2.TestWebhookRequest, timeout: float) -> Call:
        def ping() -> report_pb2.WebhookDelivery:
            self._own(request.owner.org_id, request.webhook_id)
            delivery = report_pb2.WebhookDelivery(
                delivery_id=f"dlv_{next(self._ids):04d}",
                webhook_id=request.webhook_id,
                event="webhook.test",
                status="pending",
            )
            self.deliveries[delivery.delivery_id] = delivery
            return delivery

        return self._call("TestWebhook", request, ping)

    def ListWebhookDeliveries(self, request: report_pb2.ListWebhookDeliveriesRequest, timeout: float) -> Call:
        def page() -> report_pb2.ListWebhookDeliveriesResponse:
            self._own(request.owner.org_id, request.webhook_id)
            mine = [d for d in self.deliveries.values() if d.webhook_id == request.webhook_id]
            return report_pb2.ListWebhookDeliveriesResponse(deliveries=mine, next_page_token="20")

        return self._call("ListWebhookDeliveries", request, page)

    def RedeliverWebhookDelivery(
        self, request: report_pb2.RedeliverWebhookDeliveryRequest, timeout: float
    ) -> Call:
        def again() -> report_pb2.WebhookDelivery:
            self._own(request.owner.org_id, request.webhook_id)
            found = self.deliveries.get(request.delivery_id)
            if found is None or found.webhook_id != request.webhook_id:
                raise rpc_error(grpc.StatusCode.NOT_FOUND, "delivery not found", "WEBHOOK_DELIVERY_NOT_FOUND")
            found.status = "pending"
            return found

        return self._call("RedeliverWebhookDelivery", request, again)
