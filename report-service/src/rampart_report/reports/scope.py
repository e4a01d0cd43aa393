"""Reports over assets and a period: the request's shape, its checks, and which hosts it covers.

An asset is named by its id (``asset_…``, resolved to its host and addresses by threat-service),
an IP address, a CIDR, or a host name. A scan covers the assets when one of its targets is one of
them (an address inside a CIDR, a CIDR overlapping it, the same name); the report then shows only
the ports and findings on the assets' hosts.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from rampart.lib.errors import InvalidArgument

MAX_ASSETS = 50
MAX_SPAN_DAYS = 366  # a report's period spans at most a year (and a day)
DEFAULT_DAYS = 30
ASSET_ID = re.compile(r"^asset_[0-9a-f]{8,64}$")
HOST_NAME = re.compile(
    r"^(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*$"
)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Scope:
    """The assets and the period a report covers; ``hosts`` is what the assets resolved to."""

    assets: tuple[str, ...] = ()
    period_from: datetime | None = None
    period_to: datetime | None = None
    last_days: int = 0
    hosts: tuple[str, ...] = ()  # addresses, CIDRs and names: set when the scans are picked

    @property
    def asset_ids(self) -> tuple[str, ...]:
        return tuple(a for a in self.assets if ASSET_ID.match(a))


def _normalised(asset: str) -> str:
    text = asset.strip().lower().rstrip(".")
    if ASSET_ID.match(text):
        return text
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        pass
    try:
        return str(ipaddress.ip_network(text, strict=False))
    except ValueError:
        pass
    if HOST_NAME.match(text):
        return text
    raise InvalidArgument(
        f"{asset[:100]!r} is not an asset id, an address, a CIDR or a host name", field="assets"
    )


def checked_scope(scope: Scope) -> Scope:
    """The scope with its assets normalised, or InvalidArgument naming the field (no clock here:
    :func:`resolved_period` checks the period against now)."""
    assets = tuple(dict.fromkeys(_normalised(a) for a in scope.assets if a.strip()))
    if not assets:
        raise InvalidArgument("a report covers scan_ids, or assets (with a period)", field="assets")
    if len(assets) > MAX_ASSETS:
        raise InvalidArgument(f"at most {MAX_ASSETS} assets", field="assets")
    if scope.last_days and (scope.period_from or scope.period_to):
        raise InvalidArgument("give period.last_days, or period.from and period.to, not both", field="period")
    if not 0 <= scope.last_days <= MAX_SPAN_DAYS:
        raise InvalidArgument(f"period.last_days is 1 to {MAX_SPAN_DAYS}", field="period.last_days")
    return replace(scope, assets=assets)


def resolved_period(scope: Scope, now: datetime) -> Scope:
    """``from`` and ``to`` set (last_days counted back from now; nothing given: the last 30 days);
    InvalidArgument for a period that ends before it starts, starts in the future or is too long."""
    if scope.period_from is None and scope.period_to is None:
        days = scope.last_days or DEFAULT_DAYS
        return replace(scope, period_from=now - timedelta(days=days), period_to=now, last_days=0)
    start = scope.period_from or (scope.period_to or now) - timedelta(days=DEFAULT_DAYS)
    end = min(scope.period_to or now, now)
    if start >= end:
        raise InvalidArgument("period.from is before period.to (and before now)", field="period")
    if end - start > timedelta(days=MAX_SPAN_DAYS):
        raise InvalidArgument(f"a period spans at most {MAX_SPAN_DAYS} days", field="period")
    return replace(scope, period_from=start, period_to=end)


def _network(text: str) -> Network | None:
    try:
        return ipaddress.ip_network(text.strip().lower(), strict=False)
    except ValueError:
        return None


def _name(text: str) -> str:
    return text.strip().lower().rstrip(".")


def matches(value: str, hosts: Sequence[str]) -> bool:
    """Whether a scan target or a host (address, CIDR or name) is among ``hosts`` or inside one."""
    network = _network(value)
    for host in hosts:
        other = _network(host)
        if network is not None and other is not None:
            if network.version == other.version and network.overlaps(other):
                return True
        elif network is None and other is None and _name(value) == _name(host):
            return True
    return False


def covers(targets: Iterable[str], hosts: Sequence[str]) -> bool:
    return any(matches(target, hosts) for target in targets)
