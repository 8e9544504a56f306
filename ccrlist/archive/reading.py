"""Read a post's bytes into what the archive keeps: who, when, the thread fields, the text,
the attachments (pure; never raises on hostile input).

A plain single-part text post, most of a list's traffic, is read without the email
package; MIME posts go through it, with the depth limits the bounce reader uses.
"""

from __future__ import annotations

import base64
import binascii
import quopri
import re
from datetime import UTC
from email.message import Message
from email.policy import compat32
from email.utils import parseaddr, parsedate_to_datetime

from ccrlist.archive.links import asks_not_to_be_archived
from ccrlist.archive.sanitise import html_to_text, sanitise_html
from ccrlist.archive.threads import base_subject, has_reply_prefix, strip_list_tag
from ccrlist.bounces.dsn import parse_message
from ccrlist.header_block import (
    fallback_message_id,
    field_name,
    field_value,
    readable,
    split_fields,
)
from subscribers.archive_models import ArchiveEntry, Attachment, BodyKind
from subscribers.models import Timestamp

MAX_TEXT = 1_000_000  # characters of a body kept for the pages and search
MAX_PARTS = 500
MAX_REFERENCES = 30
_MSGID = re.compile(r"<[^<>\s]{1,900}>")
_CHARSET = re.compile(r"""charset\s*=\s*"?([A-Za-z0-9._:+-]{1,40})""", re.I)
# Control characters other than tab and line feed go: pages cannot show them, and search
# marks its hits with two of them.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_QUOTED_LINES = re.compile(r"^[ \t]*>.*(?:\n|\Z)", re.MULTILINE)
_CONTROL_BYTES = bytes(range(0x00, 0x09)) + bytes(range(0x0b, 0x20)) + b"\x7f"
_WIDE = ("utf-16", "utf-32", "utf16", "utf32", "ucs-2", "ucs2")
_WANTED = frozenset({"message-id", "references", "in-reply-to", "subject", "from", "date",
                     "content-type", "content-transfer-encoding", "x-no-archive",
                     "x-archive"})
_EXTENSIONS = {"application/pdf": ".pdf", "image/png": ".png", "image/jpeg": ".jpg",
               "image/gif": ".gif", "text/html": ".html", "text/plain": ".txt",
               "message/rfc822": ".eml", "text/calendar": ".ics"}


def _printable(text: str) -> str:
    """`text` without control characters (most texts have none: that is checked in C)."""
    return text if text.isprintable() else _CONTROL.sub("", text)


def clean_text(text: str) -> str:
    """Line feeds only, no control characters, no trailing blank lines; at most MAX_TEXT."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("", text[:MAX_TEXT]).rstrip().lstrip("\n")


def _plain_text(payload: bytes, charset: str | None) -> str:
    """`clean_text` of a text part; control bytes are dropped before decoding, which is
    quicker, for the charsets in which they are single bytes."""
    if charset is None or not charset.lower().startswith(_WIDE):
        text = decode(payload.translate(None, _CONTROL_BYTES.replace(b"\r", b"")), charset)
        if text.isascii() or not _CONTROL.search(text):
            return text.replace("\r\n", "\n").replace("\r", "\n")[:MAX_TEXT].rstrip() \
                .lstrip("\n")
    return clean_text(decode(payload, charset))


def search_text(text: str) -> str:
    """What search reads of a body: its own words, without the lines it quotes."""
    return _QUOTED_LINES.sub("", text) if ">" in text else text


def decode(payload: bytes, charset: str | None) -> str:
    try:
        return payload.decode(charset or "utf-8", "replace")
    except (LookupError, ValueError):  # an unknown charset, or one that is not text
        return payload.decode("utf-8", "replace")


def _transfer_decoded(body: bytes, encoding: str) -> bytes:
    encoding = encoding.strip().lower()
    try:
        if encoding == "base64":
            return base64.b64decode(body, validate=False)
        if encoding == "quoted-printable":
            return quopri.decodestring(body)
    except (binascii.Error, ValueError):
        pass
    return body


def message_date(value: str) -> Timestamp | None:
    """A Date field's time (UTC when it names no zone), None when it cannot be read."""
    try:
        when = parsedate_to_datetime(value)
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return when.timestamp()
    except (TypeError, ValueError, IndexError, OverflowError, OSError):
        return None


def _name_and_address(value: str) -> tuple[str, str]:
    """The display name and address of a From value (the common `Name <a@b>` without the
    full parser)."""
    if "=?" not in value and '"' not in value and "(" not in value and value.count("<") == 1:
        name, _, rest = value.partition("<")
        return name.strip(), rest.partition(">")[0].strip()
    if "<" not in value and " " not in value.strip() and value.count("@") == 1:
        return "", value.strip()  # a bare address
    return parseaddr(readable(value))


def references(values: dict[str, str]) -> tuple[str, ...]:
    """The Message-IDs the post answers, oldest first, In-Reply-To last."""
    found = _MSGID.findall(values.get("references", ""))
    for reply_to in _MSGID.findall(values.get("in-reply-to", ""))[:1]:
        if reply_to in found:
            found.remove(reply_to)
        found.append(reply_to)
    return tuple(found[-MAX_REFERENCES:])


def _safe_filename(name: str | None, part: int, content_type: str) -> str:
    name = _CONTROL.sub("", readable(name or "")).replace("\\", "/").rsplit("/", 1)[-1]
    name = name.strip(" .")[:120]
    return name or f"part-{part}{_EXTENSIONS.get(content_type, '.bin')}"


def _preferred(children: list[Message]) -> Message | None:
    """The one alternative shown: plain text when there is one, else HTML, else the first."""
    for wanted in ("text/plain", "text/html"):
        for child in children:
            if child.get_content_type() == wanted and not child.get_filename():
                return child
    return children[0] if children else None


def _leaves(msg: Message) -> list[tuple[int, Message]]:
    """The leaf parts in reading order, each with its number. Of a multipart/alternative only
    the alternative shown is walked; an attached message is one leaf (a download)."""
    found: list[tuple[int, Message]] = []
    stack: list[Message] = [msg]
    number = 0
    while stack and number < MAX_PARTS:
        part = stack.pop()
        number += 1
        ctype = part.get_content_type()
        if part.is_multipart() and not ctype.startswith("message/"):
            children = [p for p in part.get_payload() if isinstance(p, Message)]
            if ctype == "multipart/alternative":
                shown = _preferred(children)
                children = [c for c in children if c is shown or c.get_filename()]
            stack.extend(reversed(children))
        else:
            found.append((number, part))
    return found


def _payload(part: Message) -> bytes:
    if part.get_content_type().startswith("message/"):
        inner = part.get_payload()
        if isinstance(inner, list) and inner and isinstance(inner[0], Message):
            return inner[0].as_bytes()
        return b""
    payload = part.get_payload(decode=True)
    return payload if isinstance(payload, bytes) else b""


def part_bytes(raw: bytes, number: int) -> tuple[Message, bytes] | None:
    """Part `number` (as `Attachment.part` counts) and its decoded bytes, for a download."""
    try:
        for found, part in _leaves(parse_message(raw, compat32)):
            if found == number:
                return part, _payload(part)
    except Exception:  # a message the email package cannot walk has no parts to give
        return None
    return None


def _mime_body(raw: bytes) -> tuple[BodyKind, str, tuple[Attachment, ...]]:
    texts: list[str] = []
    html = ""
    attachments: list[Attachment] = []
    for number, part in _leaves(parse_message(raw, compat32)):
        ctype = part.get_content_type()
        named = (part.get_content_disposition() or "") == "attachment" or bool(
            part.get_filename())
        if not named and ctype == "text/plain":
            texts.append(decode(_payload(part), part.get_content_charset()))
        elif not named and ctype == "text/html" and not texts and not html:
            html = decode(_payload(part), part.get_content_charset())
        else:  # anything else, a second HTML part included, is a download, never shown
            attachments.append(Attachment(
                number, _safe_filename(part.get_filename(), number, ctype), ctype,
                len(_payload(part))))
    if texts:
        return "text", clean_text("\n\n".join(t.rstrip() for t in texts)), tuple(attachments)
    if html:
        return "html", sanitise_html(html[:MAX_TEXT]).strip(), tuple(attachments)
    return "text", "", tuple(attachments)


def _body(raw: bytes, rest: bytes, values: dict[str, str]) -> tuple[BodyKind, str,
                                                                     tuple[Attachment, ...]]:
    ctype = values.get("content-type", "text/plain").strip().lower()
    if ctype.startswith("text/plain") or not ctype:
        charset = _CHARSET.search(ctype)
        body = _transfer_decoded(rest, values.get("content-transfer-encoding", ""))
        return "text", _plain_text(body, charset.group(1) if charset else None), ()
    try:
        return _mime_body(raw)
    except Exception:  # the email package gave up: show the bytes as text, never fail
        return "text", clean_text(rest.decode("utf-8", "replace")), ()


def read_post(raw: bytes, list_name: str, received_at: Timestamp | None) -> ArchiveEntry:
    """`raw` as the archive keeps it; `received_at` None dates it by its Date field (imports),
    or 0.0 when it has none the caller can trust."""
    fields, rest = split_fields(raw)
    values: dict[str, str] = {}
    froms: list[str] = []
    named: list[tuple[str, bytes]] = []
    for field in fields:
        name = field_name(field)
        if name in _WANTED:
            value = field_value(field)
            named.append((name, value))
            text = " ".join(value.decode("utf-8", "replace").split())
            if name == "from":
                froms.append(text)
            values.setdefault(name, text)
    display_name, address = _name_and_address(froms[0] if froms else "")
    local, at, domain = address.rpartition("@")
    author = f"{local}@{domain.lower()}" if at else address
    ids = _MSGID.findall(values.get("message-id", ""))
    subject = strip_list_tag(readable(values.get("subject", "")), list_name)
    refs = references(values)
    kind, body, attachments = _body(raw, rest, values)
    date = received_at if received_at is not None else message_date(values.get("date", ""))
    return ArchiveEntry(
        message_id=ids[0] if ids else fallback_message_id(raw),
        references=refs,
        subject=_printable(subject)[:500],
        base_subject=base_subject(subject, list_name),
        is_reply=bool(refs) or has_reply_prefix(subject),
        author_name=_printable(display_name)[:200],
        author=_printable(author)[:320],
        date=date if date is not None else 0.0,
        body_kind=kind,
        body=body,
        search_text=search_text(body) if kind == "text" else html_to_text(body),
        attachments=attachments,
        left_out=asks_not_to_be_archived(named),
    )
