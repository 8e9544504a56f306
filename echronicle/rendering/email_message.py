"""Assemble the multipart/alternative message bytes, with list headers and a token slot.

The bytes are built by hand rather than with `email.message`, so that no header folding
or transfer encoding can ever split the token slot: the HTML part is 7bit ASCII, the text
part 7bit or 8bit, and List-Unsubscribe is written on one line.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, time
from email.header import Header
from email.utils import format_datetime, formataddr

from echronicle.reading.errors import IssueError
from echronicle.reading.model import Issue
from echronicle.rendering.htmlfold import SMTP_LINE_LIMIT, longest_line
from echronicle.rendering.labels import words

# The Date header and feed dates use noon UTC of the issue date: the same calendar day
# everywhere in Canada, and never the clock of the machine that builds.
PUBLISH_TIME = time(12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Envelope:
    """Everything about a message that does not come from the issue itself."""

    from_name: str
    from_address: str
    to_address: str
    list_id: str  # e.g. echronicle.lists.example.org
    message_id: str  # without angle brackets
    unsubscribe_url: str
    leave_address: str  # <list>-leave@: unsubscribe by email
    archive_url: str


def published_at(issue: Issue) -> datetime:
    return datetime.combine(issue.date, PUBLISH_TIME)


def _header(name: str, value: str) -> str:
    if value.isascii() and len(name) + len(value) < 78:
        return f"{name}: {value}"
    encoded = Header(value, "utf-8" if not value.isascii() else "us-ascii",
                     header_name=name).encode(linesep="\r\n")
    return f"{name}: {encoded}"


def _list_id(name: str, list_id: str) -> str:
    """RFC 2919: only the phrase may be an encoded word; the <list-id> stays as it is."""
    phrase = name if name.isascii() else Header(name, "utf-8").encode(linesep="\r\n")
    return f"List-Id: {phrase} <{list_id}>"


def _part(content_type: str, body: str, source: str) -> bytes:
    if longest_line(body) > SMTP_LINE_LIMIT:
        raise IssueError(source, None, f"the {content_type} part has a line longer than "
                         f"{SMTP_LINE_LIMIT} bytes (an extremely long URL?)")
    cte = "7bit" if body.isascii() else "8bit"
    head = f'Content-Type: {content_type}; charset="utf-8"\r\nContent-Transfer-Encoding: {cte}'
    return (head + "\r\n\r\n" + "\r\n".join(body.splitlines()) + "\r\n").encode("utf-8")


def build_message(issue: Issue, subject: str, text: str, html: str, env: Envelope) -> bytes:
    """The complete message; the same inputs always give the same bytes."""
    text_part = _part("text/plain", text, issue.source)
    html_part = _part("text/html", html, issue.source)
    boundary = "=_ccr_" + hashlib.sha256(text_part + html_part).hexdigest()[:32]
    headers = [
        "MIME-Version: 1.0",
        _header("From", formataddr((env.from_name, env.from_address), charset="utf-8")),
        f"To: <{env.to_address}>",
        _header("Subject", subject),
        f"Date: {format_datetime(published_at(issue))}",
        f"Message-ID: <{env.message_id}>",
        f"Content-Language: {issue.lang}",
        _list_id(words(issue.lang).list_name, env.list_id),
        f"List-Unsubscribe: <{env.unsubscribe_url}>, <mailto:{env.leave_address}>",
        "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
        f"List-Archive: <{env.archive_url}>",
        f'Content-Type: multipart/alternative; boundary="{boundary}"',
    ]
    delimiter = f"--{boundary}\r\n".encode("ascii")
    return b"".join([
        ("\r\n".join(headers) + "\r\n\r\n").encode("ascii"),
        delimiter, text_part, delimiter, html_part,
        f"--{boundary}--\r\n".encode("ascii"),
    ])


