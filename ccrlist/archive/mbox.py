"""Read and write mailbox files (pure: the caller opens the file and passes its lines).

Read: mbox as Mailman 2 (`<list>.mbox`, mboxo), Google Groups and Takeout (mboxrd)
write it, and LISTSERV notebooks (`LISTNAME.LOGyymm`, posts between lines of 73 `=`).
A `From ` line only starts a message when it looks like one (a date with a year), or
follows a blank line and comes before a header field, so an unescaped "From here on"
in a body does not split a post. `>From ` lines are unescaped by one level.

Write: mboxrd, which any of those readers and `mailbox.mbox` read back unchanged.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from subscribers.models import Timestamp

_FROM_LINE = re.compile(
    rb"From .+? +[A-Za-z]{3},? +[A-Za-z]{3} +\d{1,2} +\d{1,2}:\d{2}(?::\d{2})?"
    rb"(?: +[A-Za-z+-][A-Za-z0-9+-]*)? +\d{4}(?: +[+-]\d{4})?\s*")
_HEADER = re.compile(rb"[\x21-\x39\x3b-\x7e]+[ \t]*:")
_NOTEBOOK = re.compile(rb"={60,}\s*")
_ESCAPED = re.compile(rb">+From ")


@dataclass(frozen=True)
class MboxMessage:
    """One message of a mailbox: its number, the line it starts on, its bytes (CRLF lines),
    and the date its `From ` line gives (None without one)."""

    number: int
    line: int
    raw: bytes
    envelope_date: Timestamp | None


def _envelope_date(line: bytes) -> Timestamp | None:
    words = line.decode("ascii", "replace").split()
    for start in range(2, len(words)):
        text = " ".join(w for w in words[start:] if not w.startswith(("+", "-")))
        try:
            return datetime.strptime(text, "%a %b %d %H:%M:%S %Y").replace(
                tzinfo=UTC).timestamp()
        except ValueError:
            continue
    return None


def _crlf(lines: list[bytes]) -> bytes:
    return b"".join(line.rstrip(b"\r\n") + b"\r\n" for line in lines)


def split_mailbox(lines: Iterable[bytes]) -> Iterator[MboxMessage]:
    """The messages of an mbox file or a LISTSERV notebook, in order."""
    number = 0
    current: list[bytes] = []
    start_line = 0
    envelope: Timestamp | None = None
    previous_blank = True
    pending: tuple[int, bytes] | None = None  # a loose `From ` line waiting for the next
    notebook = decided = False

    def finish() -> Iterator[MboxMessage]:
        nonlocal number, current
        while current and not current[-1].strip():
            current.pop()
        if current:
            number += 1
            yield MboxMessage(number, start_line, _crlf(current), envelope)
        current = []

    for index, line in enumerate(lines, start=1):
        if pending is not None:
            at, loose = pending
            pending = None
            if _HEADER.match(line):
                yield from finish()
                start_line, envelope = at, _envelope_date(loose)
            else:
                current.append(_unescape(loose, notebook))
        if not decided and line.strip():  # the first line that says what the file is
            decided = True
            notebook = _NOTEBOOK.fullmatch(line) is not None
        if notebook and _NOTEBOOK.fullmatch(line):
            yield from finish()
            start_line, envelope = index + 1, None
            previous_blank = True
            continue
        if not notebook and line.startswith(b"From "):
            if _FROM_LINE.fullmatch(line):
                yield from finish()
                start_line, envelope = index, _envelope_date(line)
                previous_blank = False
                continue
            if previous_blank:
                pending = (index, line)
                continue
        if not current and start_line == 0:
            start_line = index  # a file that does not start with a `From ` line
        current.append(_unescape(line, notebook))
        previous_blank = not line.strip()
    if pending is not None:
        current.append(_unescape(pending[1], notebook))
    yield from finish()


def _unescape(line: bytes, notebook: bool) -> bytes:
    return line[1:] if not notebook and _ESCAPED.match(line) else line


def mbox_entry(raw: bytes, sender: str, date: Timestamp) -> bytes:
    """One message for an mboxrd file: a `From ` line, the message with LF line ends and
    its `From ` lines escaped, and a blank line."""
    stamp = time.strftime("%a %b %d %H:%M:%S %Y", time.gmtime(max(date, 0)))
    who = "".join(c for c in sender if c.isprintable() and not c.isspace()) or "MAILER-DAEMON"
    body = raw.replace(b"\r\n", b"\n")
    lines = [b">" + line if _ESCAPED.match(line) or line.startswith(b"From ") else line
             for line in body.split(b"\n")]
    text = b"\n".join(lines)
    if not text.endswith(b"\n"):
        text += b"\n"
    return f"From {who} {stamp}\n".encode() + text + b"\n"


OLDEST = datetime(1980, 1, 1, tzinfo=UTC).timestamp()
FUTURE = 2 * 86400.0  # clocks are wrong, but not by days


def import_problem(message: MboxMessage, max_bytes: int) -> str:
    """Why a message of a mailbox cannot be imported ("" when it can)."""
    raw = message.raw
    if len(raw) > max_bytes:
        return f"it is larger than [limits] max_message_bytes ({len(raw)} > {max_bytes} bytes)"
    first = raw.split(b"\r\n", 1)[0]
    if not _HEADER.match(first):
        shown = first[:60].decode("utf-8", "replace")
        return f"it does not start with a header field: {shown!r}"
    if b"\x00" in raw:
        return "it holds NUL bytes"
    head = raw.split(b"\r\n\r\n", 1)[0]
    if not re.search(rb"(?im)^from[ \t]*:", head):
        return "it has no From field"
    return ""


def sane_date(found: Timestamp | None, envelope: Timestamp | None,
              now: Timestamp) -> Timestamp | None:
    """The message's Date when believable, else its `From ` line's, else None."""
    for when in (found, envelope):
        if when is not None and OLDEST <= when <= now + FUTURE:
            return when
    return None
