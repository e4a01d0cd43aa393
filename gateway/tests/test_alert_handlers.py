"""Alert-preference handlers against a stub report-service: bodies, scopes, views, error envelope."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from gateway.tests.stubs import StubPlatform
from rampart.report.v1 import report_pb2

PATH = "/api/v1/alerts/preferences"


@pytest.fixture
def platform() -> StubPlatform:
    return StubPlatform()


@pytest.fixture
def client(platform: StubPlatform) -> Iterator[TestClient]:
    with platform.client() as test_client:
        yield test_client


def test_get_shows_the_organisations_rules_and_null_updated_at_for_the_defaults(
    platform: StubPlatform, client: TestClient
) -> None:
    response = client.get(PATH, headers=platform.token("reports:read"))
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data == {"rules": {"new_open_port": {"enabled": True}}, "updated_at": None}
    assert platform.report.last("GetAlertPreferences").owner.org_id == "org_1"


def test_patch_sends_only_the_fields_given_and_put_asks_for_a_replacement(
    platform: StubPlatform, client: TestClient
) -> None:
    body = {"rules": {"new_open_port": {"enabled": False}, "new_finding": {"min_severity": "critical"}}}
    response = client.patch(PATH, json=body, headers=platform.token("reports:write"))
    assert response.status_code == 200, response.text
    sent: report_pb2.UpdateAlertPreferencesRequest = platform.report.last("UpdateAlertPreferences")
    assert sent.replace is False
    assert not sent.rules["new_open_port"].enabled
    assert sent.rules["new_open_port"].HasField("enabled")
    assert not sent.rules["new_finding"].HasField("enabled")  # not given: kept by report-service
    assert sent.rules["new_finding"].min_severity == "critical"
    shown = response.json()["data"]
    assert shown["rules"]["new_finding"] == {"enabled": True, "min_severity": "critical"}
    assert shown["updated_at"] is not None

    put = client.put(
        PATH, json={"rules": {"certificate_expiring": {"days": 14}}}, headers=platform.token("reports:write")
    )
    assert put.status_code == 200, put.text
    replaced: report_pb2.UpdateAlertPreferencesRequest = platform.report.last("UpdateAlertPreferences")
    assert replaced.replace is True
    assert replaced.rules["certificate_expiring"].days == 14
    assert put.json()["data"]["rules"] == {"certificate_expiring": {"enabled": True, "days": 14}}


@pytest.mark.parametrize(
    ("method", "body", "field"),
    [
        ("PATCH", {"rules": {"open_port_found": {"enabled": True}}}, "rules.open_port_found.[key]"),
        ("PATCH", {"rules": {"new_finding": {"min_severity": "severe"}}}, "rules.new_finding.min_severity"),
        ("PUT", {"rules": {"certificate_expiring": {"days": 365}}}, "rules.certificate_expiring.days"),
        ("PATCH", {"rules": {}}, ""),
        ("PUT", {"rules": {"host_down": {"enabled": True, "colour": "red"}}}, "rules.host_down.colour"),
    ],
)
def test_a_bad_body_is_a_422_envelope_and_never_reaches_report_service(
    platform: StubPlatform, client: TestClient, method: str, body: dict[str, object], field: str
) -> None:
    response = client.request(method, PATH, json=body, headers=platform.token("reports:write"))
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    if field:
        assert error["details"]["field"] == field
    assert platform.calls() == 0


def test_changing_preferences_needs_the_write_scope(platform: StubPlatform, client: TestClient) -> None:
    body = {"rules": {"port_closed": {"enabled": True}}}
    response = client.patch(PATH, json=body, headers=platform.token("reports:read"))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "INSUFFICIENT_PERMISSIONS"
    assert platform.calls() == 0
