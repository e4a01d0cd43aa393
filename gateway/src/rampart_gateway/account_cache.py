"""Short-lived caches that keep auth-service and scan-service off the profile's hot path.

Profile facts (email, organisation, plan) are trusted for 30 s, the same bound as cached
API keys and plans; scan counts for 5 s. Quotas are enforced by scan-service itself, so
these only shape what the profile shows, never what a caller may do.
"""

from __future__ import annotations

from datetime import datetime

from cachetools import TTLCache

from rampart.auth.v1 import auth_pb2, auth_pb2_grpc
from rampart.lib.ids import to_timestamp
from rampart.scan.v1 import scan_pb2, scan_pb2_grpc
from rampart_gateway.principal import Principal
from rampart_gateway.singleflight import SingleFlight

TIMEOUT = 10.0


class AccountCache:
    """Profile per credential (30 s) and scan usage per organisation (5 s)."""

    def __init__(
        self,
        auth: auth_pb2_grpc.AuthServiceStub,
        scan: scan_pb2_grpc.ScanServiceStub,
        profile_seconds: float = 30.0,
        usage_seconds: float = 5.0,
    ) -> None:
        self._auth = auth
        self._scan = scan
        self._profiles: TTLCache[tuple[str, str, str], auth_pb2.Profile] = TTLCache(50_000, profile_seconds)
        self._usage: TTLCache[tuple[str, datetime], scan_pb2.Usage] = TTLCache(50_000, usage_seconds)
        self._profile_flights: SingleFlight[auth_pb2.Profile] = SingleFlight()
        self._usage_flights: SingleFlight[scan_pb2.Usage] = SingleFlight()

    async def profile_and_usage(
        self, principal: Principal, day: datetime
    ) -> tuple[auth_pb2.Profile, scan_pb2.Usage]:
        owner = principal.owner
        key = (owner.org_id, owner.user_id, owner.key_id or principal.via)
        profile = self._profiles.get(key)
        if profile is None:

            async def fetch_profile() -> auth_pb2.Profile:
                reply: auth_pb2.Profile = await self._auth.GetProfile(
                    auth_pb2.GetProfileRequest(owner=owner), timeout=TIMEOUT
                )
                self._profiles[key] = reply
                return reply

            profile = await self._profile_flights.do(key, fetch_profile)
        usage_key = (owner.org_id, day)
        usage = self._usage.get(usage_key)
        if usage is None:

            async def fetch_usage() -> scan_pb2.Usage:
                reply: scan_pb2.Usage = await self._scan.GetUsage(
                    scan_pb2.GetUsageRequest(owner=owner, since=to_timestamp(day)), timeout=TIMEOUT
                )
                self._usage[usage_key] = reply
                return reply

            usage = await self._usage_flights.do(usage_key, fetch_usage)
        return profile, usage
