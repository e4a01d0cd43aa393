"""gRPC entry point for report-service: decode, call the service layer, encode."""

from __future__ import annotations

import time

from rampart.lib.errors import InvalidArgument
from rampart.lib.grpcserver import Context
from rampart.report.v1 import report_pb2
from rampart_report.alerts.api import AlertRpcs
from rampart_report.alerts.repository import MemoryPreferencesRepository
from rampart_report.alerts.service import AlertService
from rampart_report.compliance.api import ComplianceRpcs
from rampart_report.compliance.service import ComplianceService
from rampart_report.exports import mappers as export_mappers
from rampart_report.exports.service import ExportService
from rampart_report.mappers import timeline_message
from rampart_report.reports.api import ReportRpcs
from rampart_report.reports.service import ReportService
from rampart_report.service import TimelineService
from rampart_report.webhooks.mappers import delivery_message, webhook_message
from rampart_report.webhooks.service import Changes, WebhookService

DEFAULT_PAGE = 20
MAX_PAGE = 100


def page_of(page_size: int, page_token: str) -> tuple[int, int]:
    """(offset, limit) of a list request; the token is the offset of the next page."""
    if page_token and not page_token.isdigit():
        raise InvalidArgument("page_token is not one this service issued", field="page_token")
    limit = min(page_size, MAX_PAGE) if page_size > 0 else DEFAULT_PAGE
    return int(page_token or 0), limit


def next_token(offset: int, limit: int, returned: int) -> str:
    return str(offset + limit) if returned == limit else ""


class ReportServicer(ComplianceRpcs, ReportRpcs, AlertRpcs):
    """Scan timelines, webhooks, exports, compliance (compliance/api.py), reports (reports/api.py)
    and alert preferences (alerts/api.py)."""

    def __init__(
        self,
        timelines: TimelineService,
        webhooks: WebhookService,
        exports: ExportService,
        compliance: ComplianceService | None = None,
        reports: ReportService | None = None,
        alerts: AlertService | None = None,
    ) -> None:
        self._alerts = alerts or AlertService(MemoryPreferencesRepository())
        self._timelines = timelines
        self._webhooks = webhooks
        self._exports = exports
        self._compliance = compliance
        self._reports = reports

    async def ExportScan(
        self, request: report_pb2.ExportScanRequest, context: Context
    ) -> report_pb2.FileContent:
        file = await self._exports.export(*export_mappers.export_request(request))
        return export_mappers.file_message(file)

    async def ExportVulnerabilities(
        self, request: report_pb2.ExportVulnerabilitiesRequest, context: Context
    ) -> report_pb2.FileContent:
        file = await self._exports.export_vulnerabilities(*export_mappers.vulnerabilities_request(request))
        return export_mappers.file_message(file)

    async def GetScanTimeline(
        self, request: report_pb2.GetScanTimelineRequest, context: Context
    ) -> report_pb2.ScanTimeline:
        return timeline_message(await self._timelines.timeline(request.owner.org_id, request.scan_id))

    async def CreateWebhook(
        self, request: report_pb2.CreateWebhookRequest, context: Context
    ) -> report_pb2.Webhook:
        created = await self._webhooks.create(
            request.owner.org_id,
            request.owner.user_id,
            request.url,
            tuple(request.events),
            secret=request.secret,
            description=request.description,
            enabled=request.enabled if request.HasField("enabled") else True,
        )
        return webhook_message(created.webhook, created.secret, time.time())

    async def GetWebhook(self, request: report_pb2.GetWebhookRequest, context: Context) -> report_pb2.Webhook:
        return webhook_message(
            await self._webhooks.get(request.owner.org_id, request.webhook_id), now=time.time()
        )

    async def ListWebhooks(
        self, request: report_pb2.ListWebhooksRequest, context: Context
    ) -> report_pb2.ListWebhooksResponse:
        offset, limit = page_of(request.page_size, request.page_token)
        hooks = await self._webhooks.page(request.owner.org_id, offset, limit)
        now = time.time()
        return report_pb2.ListWebhooksResponse(
            webhooks=[webhook_message(hook, now=now) for hook in hooks],
            next_page_token=next_token(offset, limit, len(hooks)),
        )

    async def UpdateWebhook(
        self, request: report_pb2.UpdateWebhookRequest, context: Context
    ) -> report_pb2.Webhook:
        changes = Changes(
            url=request.url if request.HasField("url") else None,
            events=tuple(request.events) if request.replace_events else None,
            description=request.description if request.HasField("description") else None,
            enabled=request.enabled if request.HasField("enabled") else None,
        )
        updated = await self._webhooks.update(request.owner.org_id, request.webhook_id, changes)
        return webhook_message(updated, now=time.time())

    async def DeleteWebhook(
        self, request: report_pb2.DeleteWebhookRequest, context: Context
    ) -> report_pb2.DeleteWebhookResponse:
        await self._webhooks.delete(request.owner.org_id, request.webhook_id)
        return report_pb2.DeleteWebhookResponse()

    async def RotateWebhookSecret(
        self, request: report_pb2.RotateWebhookSecretRequest, context: Context
    ) -> report_pb2.Webhook:
        rotated = await self._webhooks.rotate(
            request.owner.org_id, request.webhook_id, request.secret, float(request.grace_seconds)
        )
        return webhook_message(rotated.webhook, rotated.secret, time.time())

    async def TestWebhook(
        self, request: report_pb2.TestWebhookRequest, context: Context
    ) -> report_pb2.WebhookDelivery:
        return delivery_message(await self._webhooks.test(request.owner.org_id, request.webhook_id))

    async def ListWebhookDeliveries(
        self, request: report_pb2.ListWebhookDeliveriesRequest, context: Context
    ) -> report_pb2.ListWebhookDeliveriesResponse:
        offset, limit = page_of(request.page_size, request.page_token)
        found = await self._webhooks.deliveries(request.owner.org_id, request.webhook_id, offset, limit)
        return report_pb2.ListWebhookDeliveriesResponse(
            deliveries=[delivery_message(delivery) for delivery in found],
            next_page_token=next_token(offset, limit, len(found)),
        )

    async def RedeliverWebhookDelivery(
        self, request: report_pb2.RedeliverWebhookDeliveryRequest, context: Context
    ) -> report_pb2.WebhookDelivery:
        delivery = await self._webhooks.redeliver(
            request.owner.org_id, request.webhook_id, request.delivery_id
        )
        return delivery_message(delivery)
