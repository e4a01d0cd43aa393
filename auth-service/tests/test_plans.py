"""Plan limits: 0 means unlimited only on the enterprise plan; anything else is refused at load."""

from __future__ import annotations

import json

import pytest

from rampart_auth.plans import PlanError, validate_plan, with_overrides
from rampart_auth.repository import DEFAULT_PLANS

FREE = {"requests_per_hour": 100, "scans_per_day": 10, "concurrent_scans": 2, "concurrent_streams": 5}


def test_the_shipped_plans_are_valid_and_every_plan_caps_streams() -> None:
    plans = json.loads(DEFAULT_PLANS.read_text())
    assert set(plans) == {"free", "pro", "enterprise"}
    for name, limits in plans.items():
        values = validate_plan(name, limits)
        assert values["concurrent_streams"] > 0
        assert values["requests_per_hour"] > 0
        assert values["ai_requests_per_day"] > 0
        assert values["ai_tokens_per_day"] > 0


def test_a_plan_written_before_the_assistant_quotas_gets_their_defaults() -> None:
    values = validate_plan("free", FREE)
    assert (values["ai_requests_per_day"], values["ai_tokens_per_day"]) == (50, 20_000)


@pytest.mark.parametrize(
    "field", ["requests_per_hour", "concurrent_streams", "ai_requests_per_day", "ai_tokens_per_day"]
)
@pytest.mark.parametrize("plan", ["free", "pro", "team"])
def test_zero_on_a_protective_limit_is_refused_outside_enterprise(plan: str, field: str) -> None:
    with pytest.raises(PlanError, match=f"plan '{plan}': {field} = 0 would mean unlimited"):
        validate_plan(plan, {**FREE, field: 0})


def test_zero_is_unlimited_on_enterprise_and_on_the_scan_quotas() -> None:
    unlimited = {**FREE, "requests_per_hour": 0, "concurrent_streams": 0}
    assert validate_plan("enterprise", unlimited)["requests_per_hour"] == 0
    assert validate_plan("pro", {**FREE, "scans_per_day": 0})["scans_per_day"] == 0


@pytest.mark.parametrize("value", [-1, "100", 1.5, True, None])
def test_a_limit_must_be_a_whole_number(value: object) -> None:
    with pytest.raises(PlanError, match="requests_per_hour must be a whole number"):
        validate_plan("free", {**FREE, "requests_per_hour": value})


def test_an_organisation_override_cannot_lift_a_free_plan_to_unlimited() -> None:
    assert with_overrides("free", FREE, {"requests_per_hour": 0})["requests_per_hour"] == 100
    assert with_overrides("free", FREE, {"concurrent_streams": 0})["concurrent_streams"] == 5
    assert with_overrides("free", FREE, {"concurrent_streams": 1})["concurrent_streams"] == 1
    assert with_overrides("free", FREE, {"ai_requests_per_day": 0})["ai_requests_per_day"] == 50
    assert with_overrides("free", FREE, {"ai_requests_per_day": 3})["ai_requests_per_day"] == 3
    assert with_overrides("free", FREE, {"scans_per_day": 0, "other": 7})["scans_per_day"] == 0
    assert with_overrides("enterprise", FREE, {"requests_per_hour": 0})["requests_per_hour"] == 0
