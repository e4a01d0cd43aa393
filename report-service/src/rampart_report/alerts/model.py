"""Alerts: the kinds of change a scan can show, an organisation's preferences, and the filter.

A ``scan.changed`` event (ScanChanged) carries every change between a scan and the previous
completed scan of the same targets; each change is classified into one ``kind`` below. An
organisation's preferences say which kinds alert (and, for findings, from which severity; for
certificates, within how many days); the webhook ``scan.changed`` is delivered only when at least
one change passes them, and carries only those. docs/alerts.md documents the kinds and defaults.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from rampart.lib.catalogue.webhooks import ALERT_KINDS, ALERT_MAX_DAYS, ALERT_SEVERITIES
from rampart.lib.errors import InvalidArgument

SEVERITIES = ALERT_SEVERITIES
RANK = {name: rank for rank, name in enumerate(SEVERITIES)}
MAX_DAYS = ALERT_MAX_DAYS  # ScanChanged lists certificates expiring within this many days
FINDING_KINDS = frozenset({"new_finding", "finding_reopened"})
DAYS_KINDS = frozenset({"certificate_expiring"})


@dataclass(frozen=True)
class AlertRule:
    """Whether one kind of change alerts; ``min_severity`` for findings, ``days`` for certificates."""

    enabled: bool
    min_severity: str = ""
    days: int = 0


# kind -> its default rule; also the order in which the API lists them.
DEFAULTS: dict[str, AlertRule] = {
    "new_open_port": AlertRule(True),
    "port_closed": AlertRule(False),
    "host_up": AlertRule(False),
    "host_down": AlertRule(True),
    "service_changed": AlertRule(True),
    "certificate_changed": AlertRule(True),
    "certificate_expiring": AlertRule(True, days=30),
    "new_finding": AlertRule(True, min_severity="high"),
    "finding_reopened": AlertRule(True, min_severity="high"),
    "finding_resolved": AlertRule(False),
}
KINDS = tuple(DEFAULTS)
assert KINDS == ALERT_KINDS, "the catalogue (rampart.lib.catalogue.webhooks) lists the same kinds"


@dataclass(frozen=True)
class RuleChange:
    """One kind's fields in an update; ``None``: not given."""

    enabled: bool | None = None
    min_severity: str | None = None
    days: int | None = None


@dataclass(frozen=True)
class AlertPreferences:
    """An organisation's rules, one per kind; ``updated_at`` 0: the defaults, never changed."""

    org_id: str
    rules: Mapping[str, AlertRule] = field(default_factory=lambda: dict(DEFAULTS))
    updated_at: float = 0.0

    def rule(self, kind: str) -> AlertRule:
        return self.rules.get(kind, DEFAULTS[kind])

    def updated(self, changes: Mapping[str, RuleChange], replace_all: bool, now: float) -> AlertPreferences:
        """PATCH (``replace_all`` False): the given fields change, the rest is kept. PUT: the
        given fields, the defaults for everything else. Every change is checked first."""
        for kind, change in changes.items():
            check_change(kind, change)
        base = DEFAULTS if replace_all else {kind: self.rule(kind) for kind in KINDS}
        rules = dict(base)
        for kind, change in changes.items():
            rule = rules[kind]
            rules[kind] = replace(
                rule,
                enabled=rule.enabled if change.enabled is None else change.enabled,
                min_severity=rule.min_severity if change.min_severity is None else change.min_severity,
                days=rule.days if change.days is None else change.days,
            )
        return AlertPreferences(self.org_id, rules, now)


def check_change(kind: str, change: RuleChange) -> None:
    """An unknown kind, a severity on a kind without one, days out of range: refused."""
    if kind not in DEFAULTS:
        raise InvalidArgument(f"unknown alert {kind!r}; known: {', '.join(KINDS)}", field=f"rules.{kind}")
    if change.min_severity is not None:
        if kind not in FINDING_KINDS:
            raise InvalidArgument(
                f"min_severity applies to {', '.join(sorted(FINDING_KINDS))} only",
                field=f"{kind}.min_severity",
            )
        if change.min_severity not in RANK:
            raise InvalidArgument(
                f"min_severity is one of {', '.join(SEVERITIES)}", field=f"{kind}.min_severity"
            )
    if change.days is not None:
        if kind not in DAYS_KINDS:
            raise InvalidArgument("days applies to certificate_expiring only", field=f"{kind}.days")
        if not 1 <= change.days <= MAX_DAYS:
            raise InvalidArgument(f"days is 1 to {MAX_DAYS}", field=f"{kind}.days")


@dataclass(frozen=True)
class Change:
    """One change of a scan: its kind, where, and what the webhook shows of it (``item``).

    ``severity`` is set for findings, ``days_left`` for an expiring certificate."""

    kind: str
    item: Mapping[str, object]
    severity: str = ""
    days_left: int | None = None


def alerts(rule: AlertRule, change: Change) -> bool:
    """Whether ``change`` alerts under ``rule`` (its kind's rule)."""
    if not rule.enabled:
        return False
    if change.kind in FINDING_KINDS and rule.min_severity:
        return RANK.get(change.severity, -1) >= RANK[rule.min_severity]
    if change.kind in DAYS_KINDS and change.days_left is not None:
        return change.days_left <= (rule.days or DEFAULTS[change.kind].days)
    return True


def alerting(
    preferences: AlertPreferences, changes: Iterable[Change]
) -> dict[str, list[Mapping[str, object]]]:
    """The changes that alert, by kind in the catalogue's order; empty: nothing to deliver."""
    selected: dict[str, list[Mapping[str, object]]] = {}
    for change in changes:
        if change.kind in DEFAULTS and alerts(preferences.rule(change.kind), change):
            selected.setdefault(change.kind, []).append(change.item)
    return {kind: selected[kind] for kind in KINDS if kind in selected}
