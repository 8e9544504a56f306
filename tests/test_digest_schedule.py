"""When digests are due: wall-clock hours in a time zone, across daylight saving changes,
and the settings that say so (pure, by tables)."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from ccrlist.config.parse import parse_settings
from ccrlist.config.settings import DigestSettings, SettingsError
from ccrlist.digests.schedule import day_start, following, latest, local_time

TORONTO = ZoneInfo("America/Toronto")
EIGHT = DigestSettings(hour=8)


def utc(*args: int) -> float:
    return datetime(*args, tzinfo=UTC).timestamp()  # type: ignore[misc]


def toronto(at: float) -> str:
    return local_time(at, TORONTO)


# In 2026 Toronto moves to EDT (UTC-4) on Sunday 8 March at 2:00, back to EST (UTC-5) on
# Sunday 1 November at 2:00. 8:00 local is 13:00 UTC in winter and 12:00 UTC in summer.
@pytest.mark.parametrize(("now", "last", "next_"), [
    (utc(2026, 3, 7, 12, 59), "2026-03-06 08:00 EST", "2026-03-07 08:00 EST"),
    (utc(2026, 3, 7, 13, 0), "2026-03-07 08:00 EST", "2026-03-08 08:00 EDT"),
    # The short day: the next 8:00 is 23 hours later, at 12:00 UTC, not 13:00.
    (utc(2026, 3, 8, 11, 59), "2026-03-07 08:00 EST", "2026-03-08 08:00 EDT"),
    (utc(2026, 3, 8, 12, 0), "2026-03-08 08:00 EDT", "2026-03-09 08:00 EDT"),
    # The long day: 25 hours from 8:00 EDT on 31 October to 8:00 EST on 1 November.
    (utc(2026, 11, 1, 12, 30), "2026-10-31 08:00 EDT", "2026-11-01 08:00 EST"),
    (utc(2026, 11, 1, 13, 0), "2026-11-01 08:00 EST", "2026-11-02 08:00 EST"),
    # Late in the evening local time, already the next day in UTC.
    (utc(2026, 12, 1, 4, 30), "2026-11-30 08:00 EST", "2026-12-01 08:00 EST"),
])
def test_daily_hour_is_wall_clock_time(now: float, last: str, next_: str) -> None:
    assert toronto(latest("daily", now, EIGHT)) == last
    assert toronto(following("daily", now, EIGHT)) == next_


def test_the_daily_hour_keeps_its_place_on_both_changes() -> None:
    times = [following("daily", utc(2026, 3, 6, 12), EIGHT)]  # 7:00 on Friday
    for _ in range(3):
        times.append(following("daily", times[-1], EIGHT))
    assert [b - a for a, b in itertools.pairwise(times)] == [
        24 * 3600.0, 23 * 3600.0, 24 * 3600.0]
    times = [following("daily", utc(2026, 10, 30, 11), EIGHT)]
    for _ in range(3):
        times.append(following("daily", times[-1], EIGHT))
    assert [b - a for a, b in itertools.pairwise(times)] == [
        24 * 3600.0, 25 * 3600.0, 24 * 3600.0]


def test_an_hour_that_does_not_exist_comes_at_the_hour_after_it() -> None:
    two = DigestSettings(hour=2)
    at = following("daily", utc(2026, 3, 8, 5), two)  # 0:00 EST, the night clocks jump
    assert at == utc(2026, 3, 8, 7)  # 3:00 EDT
    assert toronto(at) == "2026-03-08 03:00 EDT"


def test_an_hour_that_happens_twice_comes_once() -> None:
    one = DigestSettings(hour=1)
    first = following("daily", utc(2026, 11, 1, 4), one)  # midnight EDT
    assert first == utc(2026, 11, 1, 5)  # the first 1:00 (EDT)
    second = following("daily", first, one)
    assert toronto(second) == "2026-11-02 01:00 EST"  # not 1:00 EST on 1 November again


@pytest.mark.parametrize(("weekday", "now", "last", "next_"), [
    ("monday", utc(2026, 3, 4, 12), "2026-03-02 08:00 EST", "2026-03-09 08:00 EDT"),
    ("monday", utc(2026, 3, 9, 12), "2026-03-09 08:00 EDT", "2026-03-16 08:00 EDT"),
    ("monday", utc(2026, 3, 9, 11, 59), "2026-03-02 08:00 EST", "2026-03-09 08:00 EDT"),
    ("sunday", utc(2026, 11, 1, 12, 30), "2026-10-25 08:00 EDT", "2026-11-01 08:00 EST"),
    ("friday", utc(2027, 1, 1, 13), "2027-01-01 08:00 EST", "2027-01-08 08:00 EST"),
])
def test_weekly_hour_on_its_weekday(weekday: str, now: float, last: str, next_: str) -> None:
    settings = DigestSettings(hour=8, weekday=weekday)  # type: ignore[arg-type]
    assert toronto(latest("weekly", now, settings)) == last
    assert toronto(following("weekly", now, settings)) == next_


def test_other_time_zones() -> None:
    paris = DigestSettings(hour=18, timezone="Europe/Paris")
    assert following("daily", utc(2026, 3, 29, 12), paris) == utc(2026, 3, 29, 16)  # CEST
    assert latest("daily", utc(2026, 3, 29, 12), paris) == utc(2026, 3, 28, 17)  # CET


def test_a_pause_until_a_day_ends_when_that_day_begins() -> None:
    assert day_start(date(2026, 12, 1), TORONTO) == utc(2026, 12, 1, 5)
    assert day_start(date(2026, 7, 1), TORONTO) == utc(2026, 7, 1, 4)


@pytest.mark.parametrize(("table", "message"), [
    ({"hour": 24}, "'digest.hour' must be an hour of the day from 0 to 23; 0 is midnight, not 24"),
    ({"hour": -1}, "'digest.hour' must be an hour of the day from 0 to 23"),
    ({"hour": "8"}, "'digest.hour' must be an integer"),
    ({"weekday": "Monday"}, "'digest.weekday' must be one of 'monday'"),
    ({"timezone": "Toronto"}, "'digest.timezone': 'Toronto' is not a time zone"),
    ({"timezone": "America"}, "'digest.timezone': 'America' is not a time zone"),
    ({"timezone": "../../etc/passwd"}, "is not a time zone"),
    ({"timezone": "/etc/localtime"}, "is not a time zone"),
    ({"max_bytes": -1}, "'digest.max_bytes' must be a whole number of bytes from 0"),
    ({"often": True}, "unknown setting 'digest.often'"),
])
def test_bad_digest_settings_name_the_key(table: dict[str, object], message: str) -> None:
    with pytest.raises(SettingsError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_settings({"digest": table}, "ccr.toml")


def test_digest_settings_read_from_toml() -> None:
    settings = parse_settings({"digest": {"hour": 17, "weekday": "friday",
                                          "timezone": "America/Vancouver",
                                          "max_bytes": 0}}, "ccr.toml")
    assert settings.digest == DigestSettings(17, "friday", "America/Vancouver", 0)
    assert settings.digest.weekday_number == 4
