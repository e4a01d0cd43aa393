"""Cron expressions, read by croniter (which ships no type information) behind two typed functions."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from croniter import croniter  # type: ignore[import-untyped]


def cron_is_valid(expression: str) -> bool:
    """Five fields (minute hour day month weekday); croniter's seconds and years are refused."""
    return len(expression.split()) == 5 and bool(croniter.is_valid(expression))


def cron_times(expression: str, zone: ZoneInfo, after: datetime) -> Iterator[datetime]:
    """The fire times strictly after ``after``, read in ``zone`` (so 09:00 stays 09:00 across DST), in UTC."""
    times = croniter(expression, after.astimezone(zone))
    while True:
        when: datetime = times.get_next(datetime)
        yield when.astimezone(UTC)
