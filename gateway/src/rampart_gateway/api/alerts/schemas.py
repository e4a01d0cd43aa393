"""Request and response bodies of the alert-preference operations."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, model_validator

from rampart.lib.catalogue.webhooks import ALERT_KINDS, ALERT_MAX_DAYS
from rampart_gateway.inputs import Body

Severity = Literal["info", "low", "medium", "high", "critical"]
Kind = Literal[
    "new_open_port",
    "port_closed",
    "host_up",
    "host_down",
    "service_changed",
    "certificate_changed",
    "certificate_expiring",
    "new_finding",
    "finding_reopened",
    "finding_resolved",
]
assert set(Kind.__args__) == set(ALERT_KINDS)  # type: ignore[attr-defined]


class AlertRuleBody(Body):
    enabled: bool | None = None
    min_severity: Severity | None = Field(
        default=None, description="new_finding and finding_reopened only: the lowest severity that alerts"
    )
    days: int | None = Field(
        default=None,
        ge=1,
        le=ALERT_MAX_DAYS,
        description="certificate_expiring only: alert for a certificate expiring within this many days",
    )


class AlertPreferencesPut(Body):
    """The whole set: kinds and fields not given take their defaults."""

    rules: dict[Kind, AlertRuleBody] = Field(default_factory=dict)


class AlertPreferencesPatch(Body):
    """Only the kinds and fields given change."""

    rules: dict[Kind, AlertRuleBody]

    @model_validator(mode="after")
    def something_to_change(self) -> AlertPreferencesPatch:
        if not self.rules:
            raise ValueError("give at least one rule to change")
        return self


class AlertRuleView(BaseModel):
    enabled: bool
    min_severity: Severity | None = None
    days: int | None = None


class AlertPreferencesView(BaseModel):
    rules: dict[Kind, AlertRuleView]
    updated_at: str | None = Field(description="null: the defaults, never changed")
