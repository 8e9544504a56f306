"""A member's own delivery choice, as the page, the email commands and `members set` take
and show it (pure): the end of a pause as a date, what a list offers, and the words for
the result.

A pause "until 2026-12-01" ends when that day begins in `[digest] timezone`. The
newsletter list offers no digests (its issues are not posts): its members choose their
language and may pause, nothing more.
"""

from __future__ import annotations

from datetime import date

from ccrlist.catalogue import Messages, long_date
from ccrlist.config.settings import Settings
from ccrlist.digests.schedule import day_start, local_day
from subscribers.models import Delivery, Timestamp


class ChoiceError(ValueError):
    """A choice the member or the operator may not make; the text says why."""


def offers_digests(list_name: str, settings: Settings) -> bool:
    return list_name != settings.newsletter.list


def pause_end(day: date, now: Timestamp, settings: Settings) -> Timestamp:
    """When a pause "until `day`" ends; `day` must come after today (local time)."""
    zone = settings.digest.zone
    if day <= local_day(now, zone):
        raise ChoiceError(f"the pause must end after today ({local_day(now, zone)})")
    return day_start(day, zone)


def pause_day(until: Timestamp, settings: Settings) -> date:
    """The day a pause ends, as it was chosen."""
    return local_day(until, settings.digest.zone)


def describe(delivery: Delivery, t: Messages, settings: Settings) -> str:
    """How the member receives the list, in their words: "you receive one digest a day"."""
    receive = delivery.receive_mode
    state = {"each": t.state_each, "daily": t.state_daily, "weekly": t.state_weekly}[receive]
    if receive != "each" and delivery.digest_format == "plain":
        state = t.state_plain.format(state=state)
    if delivery.mode != "nomail":
        return state
    if delivery.paused_until is None:
        return t.state_paused.format(state=state)
    day = long_date(t, pause_day(delivery.paused_until, settings))
    return t.state_paused_until.format(date=day, state=state)


def summary(delivery: Delivery, settings: Settings) -> str:
    """For list admins: `daily`, `weekly, plain text`, `nomail until 2026-12-01, then daily`."""
    receive = delivery.receive_mode
    text = receive + (", plain text" if receive != "each"
                      and delivery.digest_format == "plain" else "")
    if delivery.mode != "nomail":
        return text
    until = ("" if delivery.paused_until is None
             else f" until {pause_day(delivery.paused_until, settings).isoformat()}")
    return f"nomail{until}, then {text}"
