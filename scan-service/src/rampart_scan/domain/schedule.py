"""Schedules: a scan spec started on a cron expression (in a time zone) or every N seconds.

Timing rules, all pure (the clock is passed in):
- the next run is the first fire time strictly after a given instant;
- a run found due after a downtime starts once, and the fire times it stepped over are counted
  as missed (catch up once, not N times);
- a run due while the schedule's previous scan is still going is skipped (counted), not queued.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rampart.lib.errors import InvalidArgument, NotFound
from rampart_scan.domain.cron import cron_is_valid, cron_times
from rampart_scan.domain.scan import Owner
from rampart_scan.domain.spec import PlanLimits, ScanSpec

MIN_INTERVAL_SECONDS = 60
MAX_INTERVAL_SECONDS = 366 * 86_400
MAX_COUNTED_MISSES = 10_000  # fire times counted after a downtime, at most


class ScheduleNotFound(NotFound):
    public_code = "SCHEDULE_NOT_FOUND"


@dataclass(frozen=True)
class Timing:
    """When a schedule fires: a cron expression read in ``time_zone``, or every ``interval_seconds``
    counted from ``anchor`` (the schedule's creation)."""

    cron: str = ""
    interval_seconds: int = 0
    time_zone: str = "UTC"
    anchor: datetime = datetime(1970, 1, 1, tzinfo=UTC)

    def check(self) -> Timing:
        if bool(self.cron) == bool(self.interval_seconds):
            raise InvalidArgument("give either cron or interval_seconds", field="cron")
        try:
            ZoneInfo(self.time_zone or "UTC")
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise InvalidArgument(
                "time_zone is not a known IANA time zone", field="time_zone", value=self.time_zone[:64]
            ) from error
        if self.cron and not cron_is_valid(self.cron):
            raise InvalidArgument(
                "cron is not a valid five-field expression", field="cron", value=self.cron[:128]
            )
        if (
            self.interval_seconds
            and not MIN_INTERVAL_SECONDS <= self.interval_seconds <= MAX_INTERVAL_SECONDS
        ):
            raise InvalidArgument(
                f"interval_seconds must be between {MIN_INTERVAL_SECONDS} and {MAX_INTERVAL_SECONDS}",
                field="interval_seconds",
                value=str(self.interval_seconds),
            )
        return self

    def next_after(self, instant: datetime) -> datetime:
        """The first fire time strictly after ``instant`` (UTC)."""
        if self.interval_seconds:
            step = timedelta(seconds=self.interval_seconds)
            if instant < self.anchor:
                return self.anchor
            return self.anchor + step * ((instant - self.anchor) // step + 1)
        return next(cron_times(self.cron, ZoneInfo(self.time_zone or "UTC"), instant))

    def fires_between(self, start: datetime, end: datetime, limit: int = MAX_COUNTED_MISSES) -> int:
        """How many fire times lie in (start, end], at most ``limit``."""
        if self.interval_seconds:
            step = timedelta(seconds=self.interval_seconds)
            return min(limit, max(0, int((end - start) // step)))
        count = 0
        for when in cron_times(self.cron, ZoneInfo(self.time_zone or "UTC"), start):
            if when > end or count >= limit:
                break
            count += 1
        return count


@dataclass(frozen=True)
class Schedule:
    """A scan spec and its timing, with what its runs did; ``next_run_at`` None while disabled."""

    id: str
    owner: Owner
    spec: ScanSpec
    timing: Timing
    limits: PlanLimits
    created_at: datetime
    updated_at: datetime
    name: str = ""
    enabled: bool = True
    next_run_at: datetime | None = None
    last_run_at: datetime | None = None
    last_scan_id: str = ""
    runs: int = 0
    skipped_runs: int = 0
    missed_runs: int = 0
    last_error: str = ""

    def planned(self, now: datetime) -> Schedule:
        """The schedule with its next run from ``now`` (none while disabled)."""
        return replace(self, next_run_at=self.timing.next_after(now) if self.enabled else None)

    def due(self, now: datetime) -> bool:
        return self.enabled and self.next_run_at is not None and self.next_run_at <= now

    def missed_before(self, now: datetime) -> int:
        """Fire times after the due one that also passed before ``now`` (a downtime's runs)."""
        if self.next_run_at is None:
            return 0
        return self.timing.fires_between(self.next_run_at, now)

    def ran(self, now: datetime, scan_id: str) -> Schedule:
        """A run started ``scan_id``; missed fire times are counted, the next run is after now."""
        return replace(
            self,
            last_run_at=now,
            last_scan_id=scan_id,
            runs=self.runs + 1,
            missed_runs=self.missed_runs + self.missed_before(now),
            last_error="",
            next_run_at=self.timing.next_after(now),
        )

    def skipped(self, now: datetime) -> Schedule:
        """The run was due while the previous scan was still going: skipped, counted."""
        return replace(
            self,
            skipped_runs=self.skipped_runs + 1,
            missed_runs=self.missed_runs + self.missed_before(now),
            next_run_at=self.timing.next_after(now),
        )

    def failed(self, now: datetime, reason: str) -> Schedule:
        """The run could not start a scan (quota, scope...): recorded, tried at the next fire time."""
        return replace(
            self,
            last_run_at=now,
            last_error=reason[:500],
            missed_runs=self.missed_runs + self.missed_before(now),
            next_run_at=self.timing.next_after(now),
        )
