"""What a digest holds and the text both of its forms share (pure): each post read for
people (author, subject, text, attachments), the masthead and the table of contents.

Reading a post never raises: a digest must go out whatever one of its posts holds, so a
part that cannot be decoded is shown as far as it can be, or replaced by a note.
"""

from __future__ import annotations

import codecs
import email
import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import Message
from email.utils import parseaddr
from zoneinfo import ZoneInfo

from ccrlist.catalogue import Messages, long_date
from ccrlist.digests.html_text import html_to_text
from ccrlist.header_block import field_name, field_value, readable, split_fields
from subscribers.models import DeliveryMode, DigestFormat, Lang, Timestamp

MAX_PARTS = 200  # MIME parts looked at in one post
MAX_DEPTH = 32
WIDTH = 72
# Control characters other than tab and line feed: nothing a reader should get.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@dataclass(frozen=True)
class Attachment:
    name: str
    content_type: str
    size: int


@dataclass(frozen=True)
class PostView:
    """One post as a digest shows it, with the bytes it was received as."""

    raw: bytes
    headers: tuple[tuple[str, str], ...]  # (name, decoded value), first of each kept field
    subject: str
    author: str  # the display name, else the address
    text: str  # the plain text of its text parts ("" when it has none)
    attachments: tuple[Attachment, ...]

    def header(self, name: str) -> str:
        return next((v for n, v in self.headers if n.lower() == name.lower()), "")


# The fields a digest shows of each post, in this order (RFC 1153 keeps these).
SHOWN_FIELDS = ("Date", "From", "To", "Cc", "Subject", "Message-ID")


def read_post(raw: bytes) -> PostView:
    """Read `raw` for a digest; anything unreadable becomes a note, never an error."""
    seen: dict[str, str] = {}
    fields, _ = split_fields(raw)
    for field in fields:
        seen.setdefault(field_name(field),
                        _clean(readable(field_value(field).decode("utf-8", "replace"))))
    headers = tuple((name, seen[name.lower()]) for name in SHOWN_FIELDS if seen.get(name.lower()))
    display, address = parseaddr(seen.get("from", ""))
    try:
        text, attachments = _contents(email.message_from_bytes(raw))
    except Exception:
        # The email package raises on some malformed structures (RecursionError, and
        # TypeError or LookupError from broken parameters); the headers still show.
        text, attachments = "", ()
    return PostView(raw, headers, seen.get("subject", ""), display or address, text,
                    attachments)


def _contents(msg: Message) -> tuple[str, tuple[Attachment, ...]]:
    """The text of every inline text/plain part (or of the first HTML part when there is
    none), and the other leaf parts as attachments."""
    texts: list[str] = []
    html = ""
    attachments: list[Attachment] = []
    stack: list[tuple[Message, int]] = [(msg, 0)]
    visited = 0
    while stack and visited < MAX_PARTS:
        part, depth = stack.pop()
        visited += 1
        if part.is_multipart():
            if depth < MAX_DEPTH:
                children = part.get_payload()
                if isinstance(children, list):
                    stack.extend((c, depth + 1) for c in reversed(children)
                                 if isinstance(c, Message))
            continue
        ctype = part.get_content_type()
        inline = part.get_content_disposition() != "attachment"
        payload = part.get_payload(decode=True)
        body = payload if isinstance(payload, bytes) else b""
        if ctype == "text/plain" and inline:
            texts.append(_decode(body, part.get_content_charset()))
        elif ctype == "text/html" and inline:
            html = html or _decode(body, part.get_content_charset())
        else:
            attachments.append(Attachment(_clean(str(part.get_filename() or "")) or ctype,
                                          ctype, len(body)))
    text = "\n\n".join(t.strip("\n") for t in texts if t.strip())
    if not text and html:
        text = html_to_text(html)
    return text, tuple(attachments)


def _decode(body: bytes, charset: str | None) -> str:
    try:
        codec = codecs.lookup(charset or "utf-8").name
    except (LookupError, ValueError, TypeError):
        codec = "utf-8"  # a charset we do not know: most mail is UTF-8 anyway
    text = body.decode(codec, "replace").replace("\r\n", "\n").replace("\r", "\n")
    return "\n".join(line.rstrip() for line in _CONTROL.sub("", text).split("\n"))


def _clean(value: str) -> str:
    return " ".join(_CONTROL.sub(" ", value).split())


@dataclass(frozen=True)
class DigestSpec:
    """Everything one digest message says, but the member's token (a slot holds it)."""

    list_name: str
    domain: str
    lang: Lang
    mode: DeliveryMode  # what the members receive now: daily, weekly, or each (the last)
    digest_format: DigestFormat
    volume: int
    number: int
    at: Timestamp
    zone: ZoneInfo
    subject_prefix: str  # "[ccrlist]"; "" for none
    archive_url: str
    manage_url: str  # the member's page, with the token slot
    message_id: str
    posts: tuple[PostView, ...]


def subject(spec: DigestSpec, t: Messages) -> str:
    prefix = f"{spec.subject_prefix} " if spec.subject_prefix else f"{spec.list_name} "
    return t.digest_subject.format(prefix=prefix, volume=spec.volume, number=spec.number)


def title(spec: DigestSpec, t: Messages) -> str:
    return t.digest_title.format(list=spec.list_name, volume=spec.volume, number=spec.number)


def kind(spec: DigestSpec, t: Messages) -> str:
    return {"daily": t.digest_kind_daily, "weekly": t.digest_kind_weekly}.get(
        spec.mode, t.digest_kind_each)


def count(n: int, t: Messages) -> str:
    return t.digest_one if n == 1 else t.digest_many.format(count=n)


def masthead(spec: DigestSpec, t: Messages) -> list[str]:
    """The opening lines: title, what it is and when, the member's page, the contents."""
    day = datetime.fromtimestamp(spec.at, spec.zone).date()
    lines = [title(spec, t), f"{kind(spec, t)}, {long_date(t, day)}, "
             f"{count(len(spec.posts), t)}", "", t.digest_manage, f"  {spec.manage_url}", "",
             t.digest_topics, ""]
    for n, post in enumerate(spec.posts, 1):
        entry = f"{n:4d}. {post.subject or t.digest_no_subject}"
        if post.author:
            entry += f" ({post.author})"
        lines += textwrap.wrap(entry, WIDTH, subsequent_indent="      ",
                               break_long_words=False, break_on_hyphens=False) or [entry]
    return lines


def attachment_note(attachment: Attachment, t: Messages) -> str:
    return t.digest_attachment.format(name=attachment.name, type=attachment.content_type,
                                      size=human_size(attachment.size))


def human_size(size: int) -> str:
    if size < 1000:
        return f"{size} B"
    if size < 1_000_000:
        return f"{size / 1000:.0f} KB"
    return f"{size / 1_000_000:.1f} MB"


def text_lines(text: str, limit: int = 990) -> list[str]:
    """`text` as lines that fit in a mail line (998 octets): longer ones are cut."""
    out: list[str] = []
    for line in text.split("\n"):
        encoded = line.encode("utf-8")
        while len(encoded) > limit:
            cut = limit
            while cut and (encoded[cut] & 0xC0) == 0x80:  # not inside a character
                cut -= 1
            out.append(encoded[:cut].decode("utf-8"))
            encoded = encoded[cut:]
        out.append(encoded.decode("utf-8"))
    return out


def crlf(lines: Sequence[str]) -> bytes:
    return "".join(f"{line}\r\n" for line in lines).encode("utf-8")
