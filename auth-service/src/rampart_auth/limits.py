"""The plan an organisation runs under: its plan's limits with its own overrides on top."""

from __future__ import annotations

from rampart_auth.domain import Organisation, Plan, PlanLimits
from rampart_auth.ports import AccountStore


async def plan_of(store: AccountStore, org_id: str) -> Plan | None:
    """The organisation's effective plan; None when there is no such organisation."""
    org = await store.organisation(org_id)
    return None if org is None else await plan_for(store, org)


async def plan_for(store: AccountStore, org: Organisation) -> Plan:
    # A plan name with no stored plan limits nothing (0 = unlimited), as before; seed_plans
    # stores every plan in plans.json, so this only happens after an operator's edit.
    plan = await store.plan(org.plan) or Plan(org.plan, PlanLimits.unlimited())
    return plan.with_overrides(org.limit_overrides)
