"""Bounce parsing and scoring (pure), from sample DSNs in Postfix, Exim, Gmail, Microsoft forms."""

from __future__ import annotations

from pathlib import Path

import pytest

from ccrlist.bounces.dsn import MAX_MIME_DEPTH, ReportedFailure, as_email, classify, parse_bounce
from ccrlist.bounces.score import DAY, bounce_score
from ccrlist.bounces.service import attribute
from subscribers.models import BounceEvent

SAMPLES = Path(__file__).parent / "data" / "dsn"


@pytest.mark.parametrize(("sample", "recipient", "kind", "status", "reason_part"), [
    ("postfix_user_unknown.eml", "dead@example.net", "hard", "5.1.1", "User unknown"),
    ("postfix_delayed.eml", "slow@example.com", "soft", "4.4.1", "Connection timed out"),
    ("exim_failed.eml", "gone@example.org", "hard", "5.1.1", "User unknown"),
    ("gmail_no_such_user.eml", "nobody.here@gmail.com", "hard", "5.1.1", "does not exist"),
    ("gmail_mailbox_full.eml", "full.box@gmail.com", "soft", "5.2.2", "out of storage"),
    ("microsoft_recipient_not_found.eml", "former.staff@ccr-member.ca", "hard", "5.1.10",
     "RecipientNotFound"),
])
def test_samples(sample: str, recipient: str, kind: str, status: str, reason_part: str) -> None:
    [failure] = parse_bounce((SAMPLES / sample).read_bytes())
    assert (failure.recipient, failure.kind, failure.status) == (recipient, kind, status)
    assert reason_part in failure.reason
    assert "\n" not in failure.reason


def test_plain_text_bounce_without_recipient() -> None:
    raw = (b"From: MAILER-DAEMON@mx.example.org\r\nSubject: failure notice\r\n\r\n"
           b"Sorry, I wasn't able to deliver your message.\r\n"
           b"550 5.1.1 mailbox unavailable\r\n")
    assert parse_bounce(raw) == [
        ReportedFailure("", "hard", "5.1.1", "550 5.1.1 mailbox unavailable")]


def nested(levels: int, inner: bytes = b"Content-Type: text/plain\r\n\r\nhello\r\n") -> bytes:
    """A message `levels` multiparts deep, each holding only the next."""
    head = b"From: MAILER-DAEMON@mx.example.org\r\nSubject: failure notice\r\n"
    return head + b"".join(b"Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n"
                           % (i, i) for i in range(levels)) + inner


@pytest.mark.parametrize("charset", [b"nonesuch", b'"ut\x00f8"', b"base64", b"idna"])
def test_plain_text_bounce_in_a_charset_we_cannot_use(charset: bytes) -> None:
    raw = (b"From: MAILER-DAEMON@mx.example.org\r\nSubject: failure notice\r\n"
           b"Content-Type: text/plain; charset=" + charset + b"\r\n\r\n"
           b"550 5.1.1 mailbox unavailable\r\n")
    assert parse_bounce(raw) == [
        ReportedFailure("", "hard", "5.1.1", "550 5.1.1 mailbox unavailable")]


def rfc822_nested(levels: int) -> bytes:
    """Messages inside messages: nesting that needs no boundary."""
    return (b"From: MAILER-DAEMON@mx.example.org\r\nSubject: failure notice\r\n"
            + b"Content-Type: message/rfc822\r\n\r\n" * levels
            + b"Content-Type: text/plain\r\n\r\n550 5.1.1 gone\r\n")


@pytest.mark.parametrize("raw", [
    nested(3000),  # refused unparsed: too many boundaries
    rfc822_nested(3000),  # the parser runs out of stack
    rfc822_nested(MAX_MIME_DEPTH + 5),  # parsed, but deeper than the limit
], ids=["multipart-3000", "rfc822-3000", "rfc822-past-limit"])
def test_mime_nested_too_deep_is_read_as_headers_only(raw: bytes) -> None:
    assert parse_bounce(raw) == []
    assert as_email(raw)["Subject"] == "failure notice"
    assert as_email(raw).get_body(("plain",)) is None


def test_mime_nested_a_little_is_read_whole() -> None:
    raw = nested(MAX_MIME_DEPTH - 2, b"Content-Type: text/plain\r\n\r\n550 5.1.1 gone\r\n")
    assert parse_bounce(raw) == [ReportedFailure("", "hard", "5.1.1", "550 5.1.1 gone")]


def test_ordinary_mail_is_not_a_bounce() -> None:
    raw = b"From: jo@example.org\r\nSubject: hello\r\n\r\nCall me at 555-1234 about item 5.1.1\r\n"
    assert parse_bounce(raw) == []


@pytest.mark.parametrize(("status", "action", "kind"), [
    ("5.1.1", "failed", "hard"), ("5.1.10", "failed", "hard"), ("5.0.0", "failed", "hard"),
    ("5.2.2", "failed", "soft"), ("5.7.1", "failed", "soft"), ("4.2.2", "failed", "soft"),
    ("5.1.1", "delayed", "soft"),
])
def test_classify(status: str, action: str, kind: str) -> None:
    assert classify(status, action) == kind


def test_verp_address_wins() -> None:
    failures = [ReportedFailure("alias@forwarder.org", "hard", "5.1.1", "gone")]
    assert attribute(failures, "member@example.org") == [
        ReportedFailure("member@example.org", "hard", "5.1.1", "gone")]
    assert attribute([ReportedFailure("", "soft", "4.0.0", "x")], None) == []
    assert attribute([], "member@example.org") == []


def _ev(kind: str, day: float) -> BounceEvent:
    return BounceEvent(kind, "r", day * DAY)  # type: ignore[arg-type]


@pytest.mark.parametrize(("events", "score"), [
    ([], 0),
    ([_ev("hard", 1)], 1),
    ([_ev("hard", 1), _ev("hard", 1.5)], 1),  # same day counts once
    ([_ev("hard", 1), _ev("hard", 2), _ev("hard", 5)], 3),
    ([_ev("soft", 1), _ev("soft", 2), _ev("soft", 3)], 0),  # not persistent yet
    ([_ev("soft", 1), _ev("soft", 3), _ev("soft", 6)], 3),  # five days on: counts
    ([_ev("hard", 1), _ev("soft", 1), _ev("soft", 2)], 1),
])
def test_bounce_score(events: list[BounceEvent], score: int) -> None:
    assert bounce_score(events, 5 * DAY) == score
