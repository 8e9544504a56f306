"""When digests are due (pure): `[digest] hour` local time, daily or on `[digest] weekday`.

The hour is wall-clock time in `[digest] timezone`, so it stays 8:00 across daylight
saving changes: the day the clocks go forward is 23 hours long and the day they go back
25. An hour that does not exist that day (2:00 when clocks jump from 2:00 to 3:00) comes
at the same moment as the hour after it; an hour that happens twice (1:00 when clocks go
back) is the first one. Every time here is a `Timestamp` (epoch seconds).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from ccrlist.config.settings import DigestSettings
from subscribers.models import Timestamp

Period = Literal["daily", "weekly"]
PERIODS: tuple[Period, ...] = ("daily", "weekly")


def at_hour(day: date, hour: int, zone: ZoneInfo) -> Timestamp:
    """`hour`:00 on `day`, local time in `zone` (fold 0: the first of a repeated hour)."""
    return datetime(day.year, day.month, day.day, hour, tzinfo=zone).timestamp()


def day_start(day: date, zone: ZoneInfo) -> Timestamp:
    """The first moment of `day` in `zone`: when a pause "until `day`" ends."""
    return at_hour(day, 0, zone)


def local_day(at: Timestamp, zone: ZoneInfo) -> date:
    return datetime.fromtimestamp(at, zone).date()


def _days(period: Period, settings: DigestSettings, around: date,
          step: int) -> list[date]:
    """Days on which `period` has a scheduled time, from `around` going by `step`."""
    days = [around + timedelta(days=step * n) for n in range(-1, 9)]
    if period == "weekly":
        days = [d for d in days if d.weekday() == settings.weekday_number]
    return days


def latest(period: Period, now: Timestamp, settings: DigestSettings) -> Timestamp:
    """The last scheduled time of `period` at or before `now`."""
    zone = settings.zone
    for day in _days(period, settings, local_day(now, zone) + timedelta(days=1), -1):
        at = at_hour(day, settings.hour, zone)
        if at <= now:
            return at
    raise AssertionError("a week always holds a scheduled time")  # pragma: no cover


def following(period: Period, now: Timestamp, settings: DigestSettings) -> Timestamp:
    """The first scheduled time of `period` after `now`."""
    zone = settings.zone
    for day in _days(period, settings, local_day(now, zone) - timedelta(days=1), 1):
        at = at_hour(day, settings.hour, zone)
        if at > now:
            return at
    raise AssertionError("a week always holds a scheduled time")  # pragma: no cover


def local_time(at: Timestamp, zone: ZoneInfo) -> str:
    """`at` as people there read it: 2026-11-24 08:00 EST."""
    return datetime.fromtimestamp(at, zone).strftime("%Y-%m-%d %H:%M %Z")
