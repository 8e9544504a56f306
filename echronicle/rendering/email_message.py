"""Assemble the multipart/alternative message bytes, with the list's fields and a token slot.

The bytes are built by hand rather than with `email.message`, so that no header folding
or transfer encoding can ever split the token slot: the HTML part is 7bit ASCII, the text
part 7bit or 8bit, and List-Unsubscribe is folded only between its URIs. The list's own
fields (List-Id, List-Unsubscribe, ...) come from `ccrlist.list_fields`, as on list copies.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from email.header import Header
from email.utils import format_datetime, formataddr

from ccrlist.list_fields import ListFields, format_field, list_fields
from ccrlist.names import list_address
from echronicle.reading.errors import IssueError
from echronicle.reading.model import Issue
from echronicle.rendering.htmlfold import SMTP_LINE_LIMIT, longest_line


@dataclass(frozen=True)
class MessageHeaders:
    """The header values that do not come from the issue itself."""

    from_name: str
    from_address: str
    message_id: str  # without angle brackets
    list: ListFields  # the list's own fields; To is the list address
    # When the message is queued (read from the clock by `chronicle publish`): mail clients
    # sort by Date and spam filters distrust old ones. The issue's own date is in the content.
    date: datetime


def _header(name: str, value: str) -> str:
    if value.isascii() and len(name) + len(value) < 78:
        return f"{name}: {value}"
    encoded = Header(value, "utf-8" if not value.isascii() else "us-ascii",
                     header_name=name).encode(linesep="\r\n")
    return f"{name}: {encoded}"


def _part(content_type: str, body: str, source: str) -> bytes:
    if longest_line(body) > SMTP_LINE_LIMIT:
        raise IssueError(source, None, f"the {content_type} part has a line longer than "
                         f"{SMTP_LINE_LIMIT} bytes (an extremely long URL?)")
    cte = "7bit" if body.isascii() else "8bit"
    head = f'Content-Type: {content_type}; charset="utf-8"\r\nContent-Transfer-Encoding: {cte}'
    return (head + "\r\n\r\n" + "\r\n".join(body.splitlines()) + "\r\n").encode("utf-8")


def build_message(issue: Issue, subject: str, text: str, html: str,
                  env: MessageHeaders) -> bytes:
    """The complete message; the same inputs always give the same bytes."""
    text_part = _part("text/plain", text, issue.source)
    html_part = _part("text/html", html, issue.source)
    boundary = "=_ccr_" + hashlib.sha256(text_part + html_part).hexdigest()[:32]
    headers = [
        "MIME-Version: 1.0",
        _header("From", formataddr((env.from_name, env.from_address), charset="utf-8")),
        f"To: <{list_address(env.list.list_name, env.list.domain)}>",
        _header("Subject", subject),
        f"Date: {format_datetime(env.date)}",
        f"Message-ID: <{env.message_id}>",
        f"Content-Language: {issue.lang}",
        f'Content-Type: multipart/alternative; boundary="{boundary}"',
    ]
    fields = b"".join(format_field(name, value, b"\r\n") for name, value in list_fields(env.list))
    delimiter = f"--{boundary}\r\n".encode("ascii")
    return b"".join([
        ("\r\n".join(headers) + "\r\n").encode("ascii"), fields, b"\r\n",
        delimiter, text_part, delimiter, html_part,
        f"--{boundary}--\r\n".encode("ascii"),
    ])


