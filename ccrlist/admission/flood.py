"""Log what a flood causes once per interval, with counts, never once per connection.

The first refusal after a quiet spell is logged at once, so that an operator watching
the log sees a flood begin; while it goes on, one line every `interval` seconds says how
many of each kind there were and which client sent most. asyncio's own error for a
failed accept (every descriptor in use) is counted the same way instead of logging a
traceback per attempt (30,169 of them in 16 s in issue 19), and so are aiosmtpd's
warnings about what a client sent (an unknown command, too many of them), which it
logs for every command of every connection.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable
from typing import Any

INTERVAL = 10.0
ACCEPT_FAILED = "socket.accept() out of system resource"  # asyncio's message (3.11-3.13)

log = logging.getLogger("ccrlist.admission")


class FloodLog:
    """Counts events by kind and client; logs the first at once, then one line per interval."""

    def __init__(self, interval: float = INTERVAL) -> None:
        self._interval = interval
        self._kinds: Counter[str] = Counter()
        self._clients: Counter[str] = Counter()
        self._timer: asyncio.TimerHandle | None = None

    def note(self, kind: str, client: str = "") -> None:
        if self._timer is None:
            log.warning("%s%s; more are counted and logged every %g s while they go on",
                        kind, f" (from {client})" if client else "", self._interval)
            self._timer = asyncio.get_running_loop().call_later(self._interval, self._flush)
            return
        self._kinds[kind] += 1
        if client:
            self._clients[client] += 1

    def _flush(self) -> None:
        if not self._kinds:
            self._timer = None  # quiet again: the next event is logged at once
            return
        self._summarise()
        self._timer = asyncio.get_running_loop().call_later(self._interval, self._flush)

    def _summarise(self) -> None:
        counts = "; ".join(f"{n} x {kind}" for kind, n in self._kinds.most_common())
        busiest = ""
        if self._clients:
            client, n = self._clients.most_common(1)[0]
            busiest = f"; most from {client} ({n})"
        log.warning("in the last %g s: %s%s", self._interval, counts, busiest)
        self._kinds.clear()
        self._clients.clear()

    def close(self) -> None:
        """Log what is still counted, and stop."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._kinds:
            self._summarise()


# aiosmtpd's warnings about a client's behaviour, by their format, as the count says them.
AIOSMTPD_LOGGER = "mail.log"
_CLIENT_WARNINGS = {
    "%r unrecognised: %s": "SMTP client sent an unknown command",
    "%r too many bogus commands": "SMTP client closed after too many unknown commands",
    "%r over limit for %s": "SMTP client sent a command too many times",
    "%r aborted AUTH with '*'": "SMTP client aborted AUTH",
    "%r invalid PROXY handshake": "SMTP client sent an invalid PROXY header",
}


class ClientWarnings(logging.Filter):
    """On aiosmtpd's logger: its warnings about clients go to a `FloodLog` instead."""

    def __init__(self, flood: FloodLog) -> None:
        super().__init__()
        self._flood = flood

    def filter(self, record: logging.LogRecord) -> bool:
        kind = _CLIENT_WARNINGS.get(str(record.msg))
        if kind is None or record.levelno != logging.WARNING:
            return True
        peer = record.args[0] if isinstance(record.args, tuple) and record.args else None
        self._flood.note(kind, str(peer[0]) if isinstance(peer, tuple) and peer else "")
        return False


def count_client_warnings(flood: FloodLog) -> Callable[[], None]:
    """Count aiosmtpd's warnings about clients in `flood`; returns what stops it."""
    noise = ClientWarnings(flood)
    logger = logging.getLogger(AIOSMTPD_LOGGER)
    logger.addFilter(noise)
    return lambda: logger.removeFilter(noise)


ExceptionHandler = Callable[[asyncio.AbstractEventLoop, dict[str, Any]], object]


def count_accept_errors(loop: asyncio.AbstractEventLoop, flood: FloodLog) -> Callable[[], None]:
    """Route asyncio's failed-accept errors to `flood`; returns what puts the old handler back.

    Every other error still goes where it went (the previous handler, else asyncio's).
    """
    previous: ExceptionHandler | None = loop.get_exception_handler()

    def handle(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if context.get("message") == ACCEPT_FAILED:
            error = context.get("exception")
            why = getattr(error, "strerror", None) or str(error)
            flood.note(f"cannot accept a connection: {why} (raise the open files limit, or "
                       "lower max_connections)")
            return
        if previous is not None:
            previous(loop, context)
        else:
            loop.default_exception_handler(context)

    loop.set_exception_handler(handle)
    return lambda: loop.set_exception_handler(previous)
