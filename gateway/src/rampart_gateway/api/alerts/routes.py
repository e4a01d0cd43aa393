"""Alert preferences: decode, call report-service, encode. Scopes are checked before a handler runs."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from rampart.report.v1 import report_pb2
from rampart_gateway.api.alerts.schemas import AlertPreferencesPatch, AlertPreferencesPut
from rampart_gateway.envelope import ok, when
from rampart_gateway.inputs import read_json
from rampart_gateway.operations import caller

TIMEOUT = 15.0


def view(message: report_pb2.AlertPreferences) -> dict[str, Any]:
    rules: dict[str, Any] = {}
    for kind, rule in message.rules.items():
        shown: dict[str, Any] = {"enabled": rule.enabled}
        if rule.HasField("min_severity"):
            shown["min_severity"] = rule.min_severity
        if rule.HasField("days"):
            shown["days"] = rule.days
        rules[kind] = shown
    return {"rules": rules, "updated_at": when(message.updated_at)}


async def get_preferences(request: Request) -> Response:
    reply = await request.state.clients.report.GetAlertPreferences(
        report_pb2.GetAlertPreferencesRequest(owner=caller(request).owner), timeout=TIMEOUT
    )
    return ok(request, view(reply))


async def _update(
    request: Request, body: AlertPreferencesPut | AlertPreferencesPatch, replace: bool
) -> Response:
    message = report_pb2.UpdateAlertPreferencesRequest(owner=caller(request).owner, replace=replace)
    for kind, rule in body.rules.items():
        out = message.rules[kind]
        out.SetInParent()
        if rule.enabled is not None:
            out.enabled = rule.enabled
        if rule.min_severity is not None:
            out.min_severity = rule.min_severity
        if rule.days is not None:
            out.days = rule.days
    reply = await request.state.clients.report.UpdateAlertPreferences(message, timeout=TIMEOUT)
    return ok(request, view(reply))


async def put_preferences(request: Request) -> Response:
    return await _update(request, await read_json(request, AlertPreferencesPut), replace=True)


async def patch_preferences(request: Request) -> Response:
    return await _update(request, await read_json(request, AlertPreferencesPatch), replace=False)
