"""What publishing an issue means before anything is written or sent (pure): the editor's
request, who gets which language version, and the figures reported back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from echronicle.reading.model import Edition
from subscribers.models import Member
from subscribers.post_models import Recipient

TEST_TOKEN = "test-copy"


@dataclass(frozen=True)
class PublishRequest:
    """What the editor asked for (`chronicle publish` and its options)."""

    issue_id: str
    queued_at: datetime  # the clock at the edge: the Date of the messages queued now
    send: bool = True  # False: --no-send, pages only
    test_to: str | None = None  # one test copy to this (normalised) address
    test_lang: str | None = None  # the test copy's language (default: the issue's own)
    resend: bool = False  # again to everyone, also those who got it
    force: bool = False  # send even when the checks find problems
    tag: str = ""  # tells resends and test copies apart: a time, read at the edge


class Reporter(Protocol):
    """Where publishing tells the editor what happens (the command prints it)."""

    def note(self, line: str) -> None: ...

    def problem(self, line: str) -> None: ...

    def sending(self, total: int) -> Callable[[int], None]: ...


class NotSent(Exception):
    """The issue is queued but this process cannot send it (the message says why and who
    will)."""


@dataclass(frozen=True)
class Delivery:
    """One outgoing message to queue: a language version and who gets it."""

    lang: str
    source_ref: str
    recipients: tuple[Recipient, ...]


@dataclass(frozen=True)
class SendSummary:
    queued: int  # recipients newly added by this run
    sent: int  # by this run
    deferred: int  # waiting for a retry after a temporary failure
    failed: int  # by this run
    pending: int  # not yet tried (e.g. the relay was unreachable)
    transport: str


@dataclass(frozen=True)
class Fallback:
    """Subscribers who prefer a language the issue was not written in, and what they get."""

    wanted: str
    given: str
    count: int

    def describe(self, issue_id: str) -> str:
        return (f"{self.count} subscriber(s) prefer {self.wanted} but {issue_id} has no "
                f"{self.wanted} version; they get {self.given}")


def plan_deliveries(edition: Edition, receivers: Iterable[Member], ref_suffix: str = ""
                    ) -> list[Delivery]:
    """Pure: group receivers by the version they get (their language, else the primary)."""
    groups: dict[str, list[Recipient]] = {v.lang: [] for v in edition.versions}
    for member in receivers:
        groups[edition.version(member.lang).lang].append(Recipient(member.address, member.token))
    suffix = f":{ref_suffix}" if ref_suffix else ""
    return [Delivery(lang, f"{edition.id}:{lang}{suffix}", tuple(people))
            for lang, people in groups.items() if people]


def fallbacks(edition: Edition, receivers: Iterable[Member]) -> list[Fallback]:
    """Pure: per missing language, how many receivers get another version instead."""
    counts: dict[str, int] = {}
    for member in receivers:
        if not edition.has(member.lang):
            counts[member.lang] = counts.get(member.lang, 0) + 1
    return [Fallback(lang, edition.version(lang).lang, count)
            for lang, count in sorted(counts.items())]


def plan_test_copy(edition: Edition, address: str, lang: str, tag: str) -> list[Delivery]:
    """One copy for an editor; the tag (a timestamp) makes every test a new message."""
    version = edition.version(lang)
    return [Delivery(version.lang, f"{edition.id}:{version.lang}:test-{tag}:{address}",
                     (Recipient(address, TEST_TOKEN),))]
