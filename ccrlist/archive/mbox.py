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
    and its `From ` line (b"" without one)."""

    number: int
    line: int
    raw: bytes
    from_line: bytes = b""

    @property
    def envelope_date(self) -> Timestamp | None:
        """The date the `From ` line gives, None without one (read only when needed: most
        messages have a Date field)."""
        return _envelope_date(self.from_line) if self.from_line else None


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


_UNESCAPE = re.compile(rb"^>(>*From )", re.MULTILINE)


def _without_blank_end(text: bytes) -> bytes:
    """`text` (LF lines) without its trailing blank lines, ending in one line end."""
    while text.endswith(b"\n"):
        start = text.rfind(b"\n", 0, len(text) - 1) + 1
        if text[start:-1].strip(b" \t"):
            return text
        text = text[:start]
    return text + b"\n" if text else text


def _message(content: bytes, notebook: bool) -> bytes:
    """A message's lines as stored: CRLF line ends, mbox escapes undone, no trailing blank
    lines (the blank line before the next `From ` belongs to the file, not the message)."""
    if not notebook and b">From " in content:  # a cheap look before the regular expression
        content = _UNESCAPE.sub(rb"\1", content)
    content = _without_blank_end(content.replace(b"\r\n", b"\n").lstrip(b"\n"))
    return content.replace(b"\n", b"\r\n") if content.strip() else b""


class _Splitter:
    """Finds where messages start in a growing buffer; see `split_mailbox`."""

    def __init__(self) -> None:
        self.buf = b""
        self.start = 0  # where the current message's content starts in buf
        self.scan = 0  # where to look for the next separator
        self.cut_lines = 0  # lines of the file before buf[0]
        self.at_file_start = True  # buf[0] is the file's first byte
        self.from_line = b""
        self.from_line_no = 0  # the line of the current message's `From ` line, 0 for none
        self.number = 0
        self.notebook: bool | None = None
        self.counted_pos = self.counted_lines = 0  # newlines in buf[:counted_pos]

    def _line_at(self, pos: int) -> int:
        """The line number of buf[pos]; asked in increasing order, so it counts on from the
        last answer instead of from the start of the buffer."""
        if pos < self.counted_pos:
            self.counted_pos, self.counted_lines = 0, 0
        self.counted_lines += self.buf.count(b"\n", self.counted_pos, pos)
        self.counted_pos = pos
        return self.cut_lines + self.counted_lines + 1

    def _previous_blank(self, pos: int) -> bool:
        if pos == 0:
            return self.at_file_start
        before = self.buf[max(0, pos - 3):pos]
        return before.endswith((b"\n\n", b"\n\r\n")) or (self.at_file_start and pos <= 2
                                                           and not before.strip())

    def _separator(self, pos: int, final: bool) -> tuple[bool, int] | None:
        """Whether the line at `pos` starts a message, and where the line after it starts;
        None when more data is needed to tell."""
        end = self.buf.find(b"\n", pos)
        if end == -1:
            return None if not final else (False, len(self.buf))
        line = self.buf[pos:end + 1]
        if self.notebook:
            return _NOTEBOOK.fullmatch(line) is not None, end + 1
        if _FROM_LINE.fullmatch(line):
            return True, end + 1
        if not self._previous_blank(pos):
            return False, end + 1
        if self.buf.find(b"\n", end + 1) == -1 and not final:
            return None
        return _HEADER.match(self.buf, end + 1) is not None, end + 1

    def _trim(self) -> None:
        cut = max(self.start - 3, 0)  # keep the line end before, to tell a blank line
        if cut:
            self.cut_lines += self.buf.count(b"\n", 0, cut)
            self.counted_pos = self.counted_lines = 0
            self.buf = self.buf[cut:]
            self.start -= cut
            self.scan -= cut
            self.at_file_start = False

    def feed(self, data: bytes, final: bool) -> Iterator[MboxMessage]:
        self._trim()
        self.buf += data
        if self.notebook is None:
            first = self.buf.lstrip(b"\r\n")
            if b"\n" not in first and not final:
                return  # the first line that says what the file is has not come whole
            self.notebook = _NOTEBOOK.match(first) is not None
        marker = b"\n=" if self.notebook else b"\nFrom "
        while True:
            if self.scan == 0 and self.at_file_start and self.buf.startswith(marker[1:]):
                pos = 0
            else:
                found = self.buf.find(marker, max(self.scan - 1, 0))
                if found == -1:
                    break
                pos = found + 1
            decided = self._separator(pos, final)
            if decided is None:
                self.scan = pos
                return
            is_separator, after = decided
            self.scan = after
            if is_separator:
                yield from self._emit(pos)
                self.from_line = b"" if self.notebook else self.buf[pos:after]
                self.from_line_no = 0 if self.notebook else self._line_at(pos)
                self.start = after
        if final:
            yield from self._emit(len(self.buf))

    def _emit(self, end: int) -> Iterator[MboxMessage]:
        content = self.buf[self.start:end]
        raw = _message(content, bool(self.notebook))
        if raw:
            self.number += 1
            blank = len(content) - len(content.lstrip(b"\r\n"))
            yield MboxMessage(self.number,
                              self.from_line_no or self._line_at(self.start + blank), raw,
                              self.from_line)


def split_mailbox(chunks: Iterable[bytes]) -> Iterator[MboxMessage]:
    """The messages of an mbox file or a LISTSERV notebook, in order, from its bytes in
    chunks of any size (a file read in blocks)."""
    splitter = _Splitter()
    for chunk in chunks:
        yield from splitter.feed(chunk, final=False)
    yield from splitter.feed(b"", final=True)


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
