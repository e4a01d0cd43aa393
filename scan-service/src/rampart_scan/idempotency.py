"""Idempotency-Keys: a retry replays the scan its key created; a key whose create died is taken over.

The key is bound to the new scan id before anything else is written (docs/security/durability.md).
A retry that finds the key but not its scan waits up to the grace period (the create may still be
running), then takes the key over with a compare-and-set, so exactly one retry creates the scan.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict

import structlog

from rampart_scan.domain import IdempotencyKeyReused, PlanLimits, Scan, ScanSpec
from rampart_scan.interfaces import Clock, KeyRecord, ScanStore

log = structlog.get_logger(__name__)
POLL_SECONDS = 0.05


def fingerprint(spec: ScanSpec, limits: PlanLimits, sandbox: bool) -> str:
    """What a key must keep meaning: the request as sent, minus who sent it and when.

    The world is part of it, so a key used by a live key and then by a test key never replays.
    """
    body = {"spec": asdict(spec), "limits": asdict(limits), "sandbox": sandbox}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


class IdempotencyKeys:
    """Binds keys to scans for one organisation at a time."""

    def __init__(self, store: ScanStore, clock: Clock, grace_seconds: float) -> None:
        self._store = store
        self._clock = clock
        self._grace = grace_seconds

    async def claim(self, org_id: str, key: str, digest: str, scan_id: str) -> Scan | None:
        """Bind the key to ``scan_id``; return the earlier scan when the key already has a live one."""
        while True:
            record = KeyRecord(digest, scan_id, self._clock.now(), self._clock.time())
            seen = await self._store.remember_key(org_id, key, record)
            if seen is None:
                return None
            if seen.fingerprint != digest:
                raise IdempotencyKeyReused(
                    "this Idempotency-Key was used with a different request", field="Idempotency-Key"
                )
            existing = await self.wait_for_scan(org_id, seen.scan_id, since=seen.claimed_at)
            if existing is not None:
                return existing
            if await self._store.take_over_key(org_id, key, seen.scan_id, scan_id, self._clock.time()):
                log.warning("idempotency key taken over", dangling_scan_id=seen.scan_id, scan_id=scan_id)
                return None

    async def holder(self, org_id: str, key: str) -> str | None:
        """The scan id the key names now."""
        record = await self._store.key(org_id, key)
        return None if record is None else record.scan_id

    async def release(self, org_id: str, key: str, scan_id: str) -> None:
        """Forget the key if it still names ``scan_id`` (its create was refused)."""
        await self._store.forget_key(org_id, key, scan_id)

    async def wait_for_scan(self, org_id: str, scan_id: str, since: float | None = None) -> Scan | None:
        """The key's scan, waiting while its create may still be running (up to the grace period)."""
        give_up = (since or self._clock.time()) + self._grace
        while True:
            existing = await self._store.get(org_id, scan_id)
            if existing is not None or self._clock.time() >= give_up:
                return existing
            await self._clock.sleep(POLL_SECONDS)
