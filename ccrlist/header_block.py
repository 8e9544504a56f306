"""Read a message's header block (pure): its fields verbatim, their names and values,
values decoded for people, and the id of a message that has no Message-ID.

Intake, sender authentication and the list copy all read headers through here, on the
raw bytes: nothing is re-folded or re-encoded, so what we judge is what we send on.
"""

from __future__ import annotations

import hashlib
from email.errors import MessageError
from email.header import decode_header, make_header


def split_fields(raw: bytes) -> tuple[list[bytes], bytes]:
    """Header fields (each with its folded lines and line ends) and the rest, verbatim."""
    crlf = raw.find(b"\r\n\r\n")
    end = len(raw) if crlf == -1 else crlf + 2
    lf = raw.find(b"\n\n", 0, end)  # a bare-LF blank line before it; never scans the body
    if lf != -1:
        end = lf + 1
    if raw.startswith((b"\r\n", b"\n")):
        return [], raw
    head, rest = raw[:end], raw[end:]
    # Lines are gathered per field and joined once: appending to the bytes of a field
    # folded over many lines would copy it again for every line (quadratic).
    lines: list[list[bytes]] = []
    for line in head.splitlines(keepends=True):
        if lines and line[:1] in (b" ", b"\t"):
            lines[-1].append(line)
        else:
            lines.append([line])
    return [b"".join(parts) for parts in lines], rest


def field_name(field: bytes) -> str:
    return field.split(b":", 1)[0].strip().decode("ascii", "replace").lower()


def field_value(field: bytes) -> bytes:
    return field.split(b":", 1)[1] if b":" in field else b""


def readable(value: str) -> str:
    """A header value with its RFC 2047 words decoded, on one line, for people and for
    comparing subjects; as it came when the words cannot be decoded.

    Senders' software gets encoded words wrong (bad base64, a charset name that is not
    ASCII), and the email package raises for each: that must never fail a post.
    """
    text = " ".join(value.split())
    if "=?" not in text:
        return text  # most values: what decode_header would give, without its cost
    try:
        # On one line again after decoding: =0A in an encoded word must not start a new
        # line where it is shown (`ccrlist held list` prints one line per post).
        return " ".join(str(make_header(decode_header(text))).split())
    except (ValueError, LookupError, UnicodeError, MessageError):
        return text


def decoded_subject(value: bytes) -> str:
    return readable(value.decode("utf-8", "surrogateescape"))


def fallback_message_id(raw: bytes) -> str:
    """A stable id for a message that arrived without a Message-ID."""
    return f"<sha256-{hashlib.sha256(raw).hexdigest()[:32]}@ccrlist.invalid>"
