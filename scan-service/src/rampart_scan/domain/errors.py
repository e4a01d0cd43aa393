"""The errors scans can meet; one layer (the gRPC interceptor) maps them to status codes."""

from __future__ import annotations

from rampart.lib.errors import FailedPrecondition, NotFound, ResourceExhausted
from rampart_scan.engine.targets import InvalidTarget

__all__ = [
    "ConcurrentLimitExceeded",
    "IdempotencyKeyReused",
    "IllegalTransition",
    "InvalidTarget",
    "ScanHeld",
    "ScanNotFinished",
    "ScanNotFound",
    "ScanNotResumable",
    "ScanQuotaExceeded",
]


class ScanNotFound(NotFound):
    public_code = "SCAN_NOT_FOUND"


class ConcurrentLimitExceeded(ResourceExhausted):
    public_code = "CONCURRENT_LIMIT_EXCEEDED"


class ScanQuotaExceeded(ResourceExhausted):
    public_code = "SCAN_QUOTA_EXCEEDED"


class IdempotencyKeyReused(FailedPrecondition):
    public_code = "IDEMPOTENCY_KEY_REUSED"


class ScanNotFinished(FailedPrecondition):
    public_code = "SCAN_NOT_FINISHED"


class NoScanToCompare(FailedPrecondition):
    """A diff with no other scan given and no earlier completed scan of the same targets."""

    public_code = "NO_SCAN_TO_COMPARE"


class IllegalTransition(FailedPrecondition):
    """A state change the scan's current state does not allow (e.g. finishing a finished scan)."""


class ScanHeld(IllegalTransition):
    """Another worker's lease on the scan is live: it must not run here."""


class ScanNotResumable(FailedPrecondition):
    """Only a cancelled, timed-out or failed scan can be resumed."""

    public_code = "SCAN_NOT_RESUMABLE"
