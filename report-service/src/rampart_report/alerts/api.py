"""The alert-preference RPCs of ReportService: decode, call the alert service, encode."""

from __future__ import annotations

from rampart.lib.grpcserver import Context
from rampart.report.v1 import report_pb2, report_pb2_grpc
from rampart_report.alerts import mappers
from rampart_report.alerts.service import AlertService


class AlertRpcs(report_pb2_grpc.ReportServiceServicer):
    """Mixed into ReportServicer."""

    _alerts: AlertService

    async def GetAlertPreferences(
        self, request: report_pb2.GetAlertPreferencesRequest, context: Context
    ) -> report_pb2.AlertPreferences:
        preferences = await self._alerts.preferences(request.owner.org_id)
        return mappers.preferences_message(preferences, request.owner)

    async def UpdateAlertPreferences(
        self, request: report_pb2.UpdateAlertPreferencesRequest, context: Context
    ) -> report_pb2.AlertPreferences:
        changes = mappers.rule_changes(request.rules)
        preferences = await self._alerts.update(request.owner.org_id, changes, request.replace)
        return mappers.preferences_message(preferences, request.owner)
