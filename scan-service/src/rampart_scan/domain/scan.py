"""The scan aggregate: who owns it, what it scans, and the states it moves through."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from rampart_scan.domain.errors import IllegalTransition, ScanHeld, ScanNotResumable
from rampart_scan.domain.results import PortCounts
from rampart_scan.domain.shards import ShardPlan
from rampart_scan.domain.spec import ScanSpec

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
STATES = ACTIVE_STATES + FINAL_STATES
RESUMABLE_STATES = (FAILED, CANCELLED, TIMEOUT)


@dataclass(frozen=True)
class Owner:
    """Who a scan belongs to; test keys act in the sandbox world, everyone else in the live one."""

    user_id: str
    org_id: str
    sandbox: bool = False


@dataclass(frozen=True)
class ScanError:
    """Why a scan ended other than completed."""

    code: str
    message: str


CANCELLED_BY_CALLER = ScanError("SCAN_CANCELLED", "cancelled by the caller")
COULD_NOT_RUN = ScanError("INTERNAL_ERROR", "the scan could not be run")


def timed_out(max_duration_seconds: int) -> ScanError:
    return ScanError("SCAN_TIMEOUT", f"stopped after max_duration ({max_duration_seconds} s)")


@dataclass(frozen=True)
class Lease:
    """A worker's claim on a running scan, valid until ``until`` (epoch seconds)."""

    worker: str = ""
    claim: str = ""
    until: float = 0.0


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def order_key(created: datetime, scan_id: str) -> int:
    """Creation order as one number: milliseconds x 1,000,000 plus a tie-breaker from the id.

    A number, not a date or a string: the local store (nx-27017) compares only numbers
    reliably with $lt/$gt (and sorts wrongly under $or); MongoDB orders it the same way.
    Milliseconds, because a stored date keeps no more: the key a listing cursor computes from
    a scan read back must equal the key stored with it, or a page skips the scans created in
    the same millisecond as its last one (many, when the scheduler starts a batch).
    """
    tie = int(hashlib.sha256(scan_id.encode()).hexdigest()[:8], 16) % 1_000_000
    return key_at(created) + tie


def key_at(moment: datetime) -> int:
    """The smallest order key of a scan created at ``moment`` (for date bounds)."""
    return micros(moment) // 1000 * 1_000_000


def micros(moment: datetime) -> int:
    """Microseconds since the epoch, exactly (float seconds would round some instants down)."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return (aware - EPOCH) // timedelta(microseconds=1)


@dataclass(frozen=True)
class Scan:
    """One scan; transitions return the scan as it is after them, or raise ``IllegalTransition``."""

    id: str
    owner: Owner
    spec: ScanSpec
    created_at: datetime
    port_count: int = 0
    status: str = QUEUED
    progress: int = 0
    counts: PortCounts = field(default_factory=PortCounts)
    estimated_duration_seconds: int = 0
    excluded_endpoints: tuple[str, ...] = ()
    updated_at: datetime | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    attempts: int = 0
    lease: Lease = field(default_factory=Lease)
    stale_at: float = 0.0
    requeues: int = 0
    cancel_requested: bool = False
    error: ScanError | None = None
    results_deleted_at: datetime | None = None
    shards: ShardPlan = field(default_factory=ShardPlan)
    shards_done: int = 0
    resumes: int = 0
    org_rate: float = 0.0  # the organisation's probes per second when the scan was accepted

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATES

    @property
    def day(self) -> str:
        """The day the scan counts against (daily quota)."""
        return self.created_at.strftime("%Y-%m-%d")

    @property
    def order_key(self) -> int:
        return order_key(self.created_at, self.id)

    @property
    def duration_seconds(self) -> float:
        if self.started_at and self.completed_at:
            return (self.completed_at - self.started_at).total_seconds()
        return 0.0

    def _require_active(self, action: str) -> None:
        if self.is_final:
            raise IllegalTransition(f"a {self.status} scan cannot be {action}", scan_id=self.id)

    def claim(
        self, worker: str, token: str, now: float, lease_seconds: float, requeue_after: float, at: datetime
    ) -> Scan:
        """Start (or take over) the scan under a lease; refused while another lease is live."""
        self._require_active("run")
        if self.lease.until >= now:
            raise ScanHeld("another worker holds this scan", scan_id=self.id, worker=self.lease.worker)
        until = now + lease_seconds
        return replace(
            self,
            status=RUNNING,
            lease=Lease(worker, token, until),
            stale_at=until + requeue_after,
            attempts=self.attempts + 1,
            started_at=self.started_at or at,
        )

    def renew(self, token: str, now: float, lease_seconds: float, requeue_after: float) -> Scan:
        """Extend the lease of the claim ``token``; refused when that claim is no longer current."""
        if self.status != RUNNING or self.lease.claim != token:
            raise IllegalTransition("the claim on this scan was lost", scan_id=self.id)
        until = now + lease_seconds
        return replace(self, lease=replace(self.lease, until=until), stale_at=until + requeue_after)

    def report_progress(self, percent: int) -> Scan:
        return replace(self, progress=percent)

    def finish(self, status: str, at: datetime, counts: PortCounts, error: ScanError | None = None) -> Scan:
        """End the scan once: completed, failed, timed out or cancelled by its worker."""
        if status not in FINAL_STATES:
            raise IllegalTransition(f"{status} is not a final state", scan_id=self.id)
        self._require_active("finished")
        return replace(
            self,
            status=status,
            completed_at=at,
            updated_at=at,
            counts=counts,
            progress=100 if status == COMPLETED else self.progress,
            error=error if error is not None else self.error,
            lease=replace(self.lease, until=0.0),
        )

    def cancel(self, at: datetime) -> Scan:
        """A queued scan is cancelled now; a running one is asked to stop (its worker finishes it)."""
        self._require_active("cancelled")
        if self.status == QUEUED:
            return replace(self, status=CANCELLED, completed_at=at, updated_at=at)
        return replace(self, cancel_requested=True)

    def resume(self, at: datetime, now: float, requeue_after: float) -> Scan:
        """Queue a cancelled, timed-out or failed scan again; what it found is kept."""
        if self.status not in RESUMABLE_STATES:
            raise ScanNotResumable(
                f"a {self.status} scan cannot be resumed; cancelled, timed-out or failed ones can",
                scan_id=self.id,
                status=self.status,
            )
        return replace(
            self,
            status=QUEUED,
            updated_at=at,
            started_at=None,
            completed_at=None,
            error=None,
            cancel_requested=False,
            lease=Lease(),
            stale_at=now + requeue_after,
            resumes=self.resumes + 1,
        )

    def requeue(self, now: float, requeue_after: float) -> Scan:
        """Give an untouched active scan its job again (a job lost with the broker)."""
        self._require_active("requeued")
        if self.lease.until >= now or self.stale_at >= now:
            raise IllegalTransition("the scan is not stale", scan_id=self.id)
        return replace(self, stale_at=now + requeue_after, requeues=self.requeues + 1)
