"""Rate limits with the ``limits`` library: per organisation and per key by plan, per IP otherwise."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace

from limits import RateLimitItem, RateLimitItemPerHour, parse
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.storage import storage_from_string

from rampart_gateway.principal import Principal

UNLIMITED_PLAN = "enterprise"  # the only plan on which 0 means "no limit"


@dataclass(frozen=True)
class Decision:
    """The outcome of one hit, and what the X-RateLimit-* headers should say."""

    allowed: bool
    limit: int
    remaining: int
    reset: int  # unix time at which the window has room again
    scope: str = "org"

    @property
    def retry_after(self) -> int:
        return max(1, math.ceil(self.reset - time.time()))

    def headers(self) -> dict[str, str]:
        headers = {
            "x-ratelimit-limit": str(self.limit),
            "x-ratelimit-remaining": str(self.remaining),
            "x-ratelimit-reset": str(self.reset),
        }
        if not self.allowed:
            headers["retry-after"] = str(self.retry_after)
        return headers


class RateLimits:
    """Sliding-window counters (O(1) memory per bucket) in memory or Redis."""

    def __init__(self, storage_uri: str, anonymous: str, register: str, token: str) -> None:
        self._limiter = SlidingWindowCounterRateLimiter(storage_from_string(storage_uri))
        self._anonymous = parse(anonymous)
        self._by_path = {
            "/api/v1/auth/register": parse(register),
            "/api/v1/auth/token": parse(token),
        }
        self._plan_items: dict[int, RateLimitItem] = {}

    def _plan_item(self, per_hour: int) -> RateLimitItem:
        item = self._plan_items.get(per_hour)
        if item is None:
            item = self._plan_items[per_hour] = RateLimitItemPerHour(per_hour)
        return item

    def _principal_item(self, principal: Principal) -> RateLimitItem | None:
        """The plan's hourly limit; None (unlimited) only for an enterprise plan set to 0.

        auth-service refuses 0 on any other plan; should one arrive anyway, it is limited
        like an anonymous caller rather than not at all.
        """
        per_hour = principal.plan.requests_per_hour
        if per_hour > 0:
            return self._plan_item(per_hour)
        return None if principal.plan.name == UNLIMITED_PLAN else self._anonymous

    async def _hit(self, item: RateLimitItem, *identifiers: str) -> Decision:
        allowed = await self._limiter.hit(item, *identifiers)
        stats = await self._limiter.get_window_stats(item, *identifiers)
        return Decision(allowed, item.amount, max(stats.remaining, 0), math.ceil(stats.reset_time))

    async def check(self, principal: Principal | None, client_ip: str, path: str) -> Decision | None:
        """Count one request; None when the caller's plan has no request limit.

        For a principal, the organisation's window is returned unless the key's own is tighter
        (``Decision.scope`` says which).
        """
        special = self._by_path.get(path)
        if special is not None or principal is None:
            return await self._hit(special or self._anonymous, "ip", path if special else "*", client_ip)
        item = self._principal_item(principal)
        if item is None:
            return None
        org = await self._hit(item, "org", principal.owner.org_id)
        if not org.allowed:
            return org
        key = await self._hit(item, "key", principal.rate_key)
        return replace(key, scope="key") if (not key.allowed or key.remaining < org.remaining) else org

    async def usage(self, principal: Principal) -> Decision | None:
        """The organisation's hourly window, without counting a request."""
        item = self._principal_item(principal)
        if item is None:
            return None
        stats = await self._limiter.get_window_stats(item, "org", principal.owner.org_id)
        return Decision(True, item.amount, max(stats.remaining, 0), math.ceil(stats.reset_time))
