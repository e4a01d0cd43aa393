"""Scan domain rules: states, profiles, estimates and the errors scans can meet."""

from __future__ import annotations

from dataclasses import dataclass

from rampart.lib.errors import FailedPrecondition, NotFound, ResourceExhausted
from rampart_scan.engine.targets import InvalidTarget

QUEUED, RUNNING, COMPLETED, FAILED, CANCELLED, TIMEOUT = (
    "queued",
    "running",
    "completed",
    "failed",
    "cancelled",
    "timeout",
)
ACTIVE_STATES = (QUEUED, RUNNING)
FINAL_STATES = (COMPLETED, FAILED, CANCELLED, TIMEOUT)
MAX_TARGETS = 256
MAX_DURATION_SECONDS = 24 * 3600
SCAN_TYPES = ("tcp",)
PROFILES = ("standard", "compliance", "pentest")


class ScanNotFound(NotFound):
    public_code = "SCAN_NOT_FOUND"


class ConcurrentLimitExceeded(ResourceExhausted):
    public_code = "CONCURRENT_LIMIT_EXCEEDED"


class ScanQuotaExceeded(ResourceExhausted):
    public_code = "SCAN_QUOTA_EXCEEDED"


class IdempotencyKeyReused(FailedPrecondition):
    public_code = "IDEMPOTENCY_KEY_REUSED"


@dataclass(frozen=True)
class Plan:
    """What the caller may run: defaults chosen by profile, explicit options win."""

    ports: str
    service_detection: bool
    ssl_check: bool
    os_detection: bool
    fast_mode: bool


PROFILE_DEFAULTS = {
    "standard": Plan("1-1000", False, False, False, False),
    "compliance": Plan("top-1000", True, True, False, False),
    "pentest": Plan("-", True, True, True, False),
}


def check_targets(targets: list[str]) -> list[str]:
    """Trim and de-duplicate targets in order."""
    cleaned = list(dict.fromkeys(t.strip() for t in targets if t.strip()))
    if not cleaned:
        raise InvalidTarget("at least one target is required", field="target", value="")
    if len(cleaned) > MAX_TARGETS:
        raise InvalidTarget(f"at most {MAX_TARGETS} targets per scan", field="targets", value=len(cleaned))
    return cleaned


def estimate_seconds(hosts: int, ports: int, plan: Plan, sandbox: bool) -> int:
    """A rough, honest estimate: sweep rate seen on this code, plus detection time per host."""
    if sandbox:
        return 2
    sweep = ports / 40_000
    extra = (4 if plan.service_detection else 0) + (2 if plan.ssl_check else 0)
    return max(1, round(hosts * (sweep + extra)))
