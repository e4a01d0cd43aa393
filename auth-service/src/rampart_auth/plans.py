"""Plan limits: the fields, and which values a plan may hold.

``0`` lifts a limit entirely. For the limits that protect the platform itself (requests
per hour, concurrent streams) only the enterprise plan may do that: any other plan with
0 there is refused when auth-service loads its plans, and an organisation's own override
of 0 on such a plan is ignored (logged), so a typo can never make a free account unlimited.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import structlog

from rampart_auth.domain import PLAN_DEFAULTS, PLAN_FIELDS, UNLIMITED_PLAN, limit_allowed

log = structlog.get_logger(__name__)


class PlanError(ValueError):
    """A plan definition that auth-service refuses to run with."""


def validate_plan(name: str, limits: Mapping[str, Any]) -> dict[str, int]:
    """Every field present, a whole number ≥ 0, and 0 on a protective field only for enterprise."""
    values: dict[str, int] = {}
    for field in PLAN_FIELDS:
        value = limits.get(field, PLAN_DEFAULTS.get(field))
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise PlanError(f"plan {name!r}: {field} must be a whole number >= 0, not {value!r}")
        if not limit_allowed(name, field, value):
            raise PlanError(
                f"plan {name!r}: {field} = 0 would mean unlimited, "
                f"which only the {UNLIMITED_PLAN!r} plan may be"
            )
        values[field] = value
    return values


def with_overrides(name: str, plan: Mapping[str, int], overrides: Mapping[str, Any]) -> dict[str, int]:
    """An organisation's own limits on top of its plan's; an override the plan may not hold is ignored."""
    limits = {field: int(plan.get(field, PLAN_DEFAULTS.get(field, 0))) for field in PLAN_FIELDS}
    for field, raw in overrides.items():
        if field not in PLAN_FIELDS:
            continue
        value = int(raw)
        if value < 0 or not limit_allowed(name, field, value):
            log.warning("organisation limit override ignored", plan=name, field=field, value=value)
            continue
        limits[field] = value
    return limits
