"""Scan domain rules and errors (the engine and workers arrive in later issues)."""

from __future__ import annotations

from rampart.lib.errors import FailedPrecondition, InvalidArgument, NotFound

QUEUED = "queued"
RUNNING = "running"
COMPLETED = "completed"
FAILED = "failed"
CANCELLED = "cancelled"
TIMEOUT = "timeout"
ACTIVE_STATES = (QUEUED, RUNNING)
FINAL_STATES = (COMPLETED, FAILED, CANCELLED, TIMEOUT)
MAX_TARGETS = 256


class ScanNotFound(NotFound):
    public_code = "SCAN_NOT_FOUND"


class InvalidTarget(InvalidArgument):
    public_code = "INVALID_TARGET"


class ScanAlreadyFinished(FailedPrecondition):
    public_code = "SCAN_ALREADY_FINISHED"


def check_targets(targets: list[str]) -> list[str]:
    """Trim and de-duplicate targets; full scope checks arrive with the lifecycle issue."""
    cleaned = list(dict.fromkeys(t.strip() for t in targets if t.strip()))
    if not cleaned:
        raise InvalidTarget("at least one target is required", field="target", value="")
    if len(cleaned) > MAX_TARGETS:
        raise InvalidTarget(f"at most {MAX_TARGETS} targets per scan", field="targets", value=len(cleaned))
    return cleaned
