"""Known operational conditions told apart from bugs, so that the log says each in one line.

A full disk, a relay or DNS server that does not answer, a database another process
holds: the server expects these, answers 4xx or retries, and recovers by itself once they
pass. They get one line with the reason, and their traceback only at debug level
(`-vv`). Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import errno
import logging
import socket

import dns.exception

from subscribers.db import DatabaseError

# What SQLite says when the trouble is the disk or another process, not our SQL.
_DATABASE = ("database or disk is full", "disk i/o error", "database is locked",
             "database table is locked", "unable to open database file",
             "attempt to write a readonly database")
_DISK = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO, errno.EFBIG, errno.EMFILE,
         errno.ENFILE}


class TransportUnavailable(Exception):
    """No answer from the relay: every recipient of the batch is retried later."""


def known_condition(exc: BaseException) -> str | None:
    """The reason in a few words when `exc` is a condition we expect, None for a bug."""
    if isinstance(exc, DatabaseError):
        text = str(exc)
        return f"database: {text}" if any(m in text.lower() for m in _DATABASE) else None
    if isinstance(exc, TransportUnavailable):
        return f"relay unavailable: {exc}"
    if isinstance(exc, dns.exception.Timeout):
        return "DNS timed out"
    if isinstance(exc, dns.exception.DNSException):
        return f"DNS: {exc}"
    if isinstance(exc, socket.gaierror):
        return f"name lookup failed: {exc}"
    if isinstance(exc, OSError) and exc.errno in _DISK:
        where = f": {exc.filename}" if exc.filename else ""
        return f"{exc.strerror or exc}{where}"
    if isinstance(exc, ConnectionError | TimeoutError):
        return f"network: {str(exc) or type(exc).__name__}"
    return None


def log_trouble(logger: logging.Logger, exc: BaseException, message: str, *args: object,
                level: int = logging.ERROR) -> None:
    """Log `message % args` and why: one line for a known condition (traceback at debug
    level), the traceback for anything else."""
    reason = known_condition(exc)
    if reason is None:
        logger.error(message + " (unexpected error)", *args, exc_info=exc)
        return
    logger.log(level, message + ": %s", *args, reason)
    logger.debug("details of the error above", exc_info=exc)


class Outage:
    """One line when a peer (the relay) stops answering and one when it answers again,
    however many attempts fail in between."""

    def __init__(self, logger: logging.Logger, peer: str) -> None:
        self._log = logger
        self._peer = peer
        self._failures = 0

    def failed(self, reason: str) -> None:
        self._failures += 1
        if self._failures == 1:
            self._log.warning("%s unavailable: %s; deliveries wait and are retried",
                              self._peer, reason)
        else:
            self._log.debug("%s still unavailable: %s", self._peer, reason)

    def answered(self) -> None:
        if self._failures:
            self._log.warning("%s answers again (%d attempt(s) failed meanwhile)", self._peer,
                              self._failures)
            self._failures = 0
