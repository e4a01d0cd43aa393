"""report-service's alert-preference RPCs in memory: records what the gateway sends and answers
with the rules it holds per organisation (report-service's own tests check the rules themselves)."""

from __future__ import annotations

from gateway.tests.stub_services import Call, StubService
from rampart.report.v1 import report_pb2


class StubAlerts(StubService):
    def __init__(self) -> None:
        super().__init__()
        self.alert_rules: dict[str, dict[str, report_pb2.AlertRule]] = {}

    def _preferences(self, org_id: str) -> report_pb2.AlertPreferences:
        reply = report_pb2.AlertPreferences()
        reply.owner.org_id = org_id
        for kind, rule in self.alert_rules.get(
            org_id, {"new_open_port": report_pb2.AlertRule(enabled=True)}
        ).items():
            reply.rules[kind].CopyFrom(rule)
        if org_id in self.alert_rules:
            reply.updated_at.seconds = 1_700_000_000
        return reply

    def GetAlertPreferences(self, request: report_pb2.GetAlertPreferencesRequest, timeout: float) -> Call:
        return self._call("GetAlertPreferences", request, lambda: self._preferences(request.owner.org_id))

    def UpdateAlertPreferences(
        self, request: report_pb2.UpdateAlertPreferencesRequest, timeout: float
    ) -> Call:
        def update() -> report_pb2.AlertPreferences:
            held = {} if request.replace else dict(self.alert_rules.get(request.owner.org_id, {}))
            for kind, rule in request.rules.items():
                merged = report_pb2.AlertRule()
                merged.CopyFrom(held.get(kind, report_pb2.AlertRule(enabled=True)))
                merged.MergeFrom(rule)
                held[kind] = merged
            self.alert_rules[request.owner.org_id] = held
            return self._preferences(request.owner.org_id)

        return self._call("UpdateAlertPreferences", request, update)
