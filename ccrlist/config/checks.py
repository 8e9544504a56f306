"""The rules a setting's value must meet beyond its type, in one table (pure): the range of
every number, and the shape of the base URLs. `parse.py` applies them to the settings file.

A value that passes here can work: a port the kernel can bind, a count that does
something, a duration that is finite and positive, a size SQLite can store.
The upper bounds are far above any sensible setting; they are there so that a
typo (an extra zero, an exponent) is refused here instead of failing later
inside the server with an overflow.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from urllib.parse import urlsplit

DAY = 86400.0


@dataclass(frozen=True)
class Range:
    """Numbers from `low` to `high`; `low` itself only when `low_included`."""

    low: float
    high: float
    what: str  # "a port number", "a whole number", "a number of seconds", ...
    low_included: bool = True
    note: str = ""  # what the low end means, e.g. "0 means never"

    def problem(self, value: float) -> str | None:
        """Why `value` is out of this range, or None when it is in it."""
        if isinstance(value, float) and not math.isfinite(value):
            return f"must be a finite number ({self.describe()})"
        below = value < self.low if self.low_included else value <= self.low
        if below or value > self.high:
            return f"must be {self.describe()}"
        return None

    def describe(self) -> str:
        if self.low_included:
            text = f"{self.what} from {_shown(self.low)} to {_shown(self.high)}"
        else:
            text = f"{self.what} above {_shown(self.low)} and at most {_shown(self.high)}"
        return f"{text}; {self.note}" if self.note else text


def _shown(bound: float) -> str:
    return f"{int(bound):,}" if float(bound).is_integer() else f"{bound:g}"


PORT = Range(1, 65535, "a port number")


def count(high: float, low: float = 1, note: str = "") -> Range:
    return Range(low, high, "a whole number", note=note)


def seconds(high: float) -> Range:
    return Range(0, high, "a number of seconds", low_included=False)


def days(high: float, low_included: bool = False, note: str = "") -> Range:
    return Range(0, high, "a number of days", low_included=low_included, note=note)


# Every number in the settings, by its key. tests/test_settings_ranges.py fails when a
# numeric setting is missing here.
RANGES: dict[str, Range] = {
    "server.port": PORT,
    "server.max_connections": count(100_000),
    "server.max_connections_per_ip": count(100_000),
    "server.idle_timeout": seconds(3600),
    "relay.port": PORT,
    "relay.timeout": seconds(3600),
    "site.feed_entries": count(10_000),
    # SQLite stores a post as one BLOB, at most 1,000,000,000 bytes by default.
    "limits.max_message_bytes": Range(1, 1_000_000_000, "a whole number of bytes"),
    # An issue is read, parsed and rendered whole: 24 MB took 97 s and 1.6 GB (issue 19).
    "limits.max_issue_bytes": Range(1, 100_000_000, "a whole number of bytes"),
    # RFC 5321 4.5.3.1.8: relays must take 100 recipients; Postfix takes 1,000.
    "delivery.max_rcpt_per_message": count(1000),
    "delivery.connections": count(100),
    "delivery.max_age_days": days(30),
    "delivery.retry_base_seconds": seconds(DAY),
    "delivery.retry_max_seconds": seconds(7 * DAY),
    "web.port": PORT,
    "web.max_connections": count(100_000),
    "web.max_connections_per_ip": count(100_000),
    "web.idle_timeout": seconds(3600),
    "web.token_days": days(365),
    "web.requests_per_address": count(1000),
    "web.requests_per_ip": count(1_000_000),
    "bounces.threshold": count(365),
    "bounces.window_days": days(3650),
    "bounces.soft_persist_days": days(365, low_included=True, note="0 counts them at once"),
    "bounces.probe_every": count(1_000_000, low=0, note="0 never probes"),
    "commands.replies_per_day": count(1000),
    "archive.link_minutes": Range(0, 7 * 24 * 60, "a number of minutes", low_included=False),
    "archive.session_days": days(365),
    "digest.hour": Range(0, 23, "an hour of the day", note="0 is midnight"),
    "digest.max_bytes": Range(0, 1_000_000_000, "a whole number of bytes",
                              note="0 never sends a digest early"),
    "auth.timeout": seconds(300),
}


def number_problem(key: str, value: float) -> str | None:
    """Why `value` cannot be the setting `key`, or None (also for keys with no range)."""
    allowed = RANGES.get(key)
    return None if allowed is None else allowed.problem(value)


# URLs that links are built on by appending a path: `<base_url>confirm/<token>`.
BASE_URLS = frozenset({"web.base_url", "site.base_url"})


def base_url(value: str) -> str:
    """`value` as a base URL ending in "/" (one is added when it is missing).

    Raises ValueError when it is not an absolute http(s) URL without query or fragment.
    """
    if any(ch.isspace() or not ch.isprintable() for ch in value):
        raise ValueError("must be a URL without spaces or control characters")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("must be an absolute http:// or https:// URL")
    if parts.query or parts.fragment or value.endswith(("?", "#")):
        raise ValueError("must not have a query (?) or fragment (#): links are added after it")
    return value if value.endswith("/") else value + "/"
