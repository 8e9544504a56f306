"""Rewrite a post's header block for the list copy; the body stays byte for byte (pure).

We work on the raw bytes of the header block: fields we own are removed and
appended afresh, the Subject gets the list prefix once, and everything else,
including the blank line and the body, is copied unchanged.

A personalised copy's List-Unsubscribe holds `TOKEN_SLOT` where the member's
token goes (the worker fills it in at send time); a long field is folded only
between its URIs, so the slot is never split.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.header import decode_header, make_header
from typing import Literal

from ccrconfig.settings import Settings
from ccrlist.names import list_address, list_id, one_click_url, role_address
from outbox.personalise import TOKEN_SLOT

# Fields the list sets itself; copies arriving with the post are dropped.
OWNED_FIELDS = frozenset({
    "list-id", "list-post", "list-help", "list-subscribe", "list-unsubscribe",
    "list-archive", "list-owner", "precedence", "x-loop", "list-unsubscribe-post",
})
FOLD_AT = 78  # RFC 5322's recommended line length


@dataclass(frozen=True)
class ListHeaders:
    """What the rewrite needs to know about the list."""

    list_name: str
    domain: str
    subject_prefix: str
    archive_url: str
    reply_to: Literal["off", "list", "author"] = "off"
    # The one-click unsubscribe URL (with the token slot); "" offers only the mailto form.
    unsubscribe_url: str = ""


def list_headers(list_name: str, settings: Settings, personalised: bool = False) -> ListHeaders:
    fill = {"list": list_name, "domain": settings.domain}
    url = one_click_url(settings.web.base_url, TOKEN_SLOT.decode("ascii")) if personalised else ""
    return ListHeaders(list_name, settings.domain,
                       settings.posting.subject_prefix.format(**fill),
                       settings.posting.archive_url.format(**fill),
                       settings.posting.reply_to, url)


def split_fields(raw: bytes) -> tuple[list[bytes], bytes]:
    """Header fields (each with its folded lines and line ends) and the rest, verbatim."""
    end = len(raw)
    for sep in (b"\r\n\r\n", b"\n\n"):
        at = raw.find(sep)
        if at != -1 and at < end:
            end = at + len(sep) // 2
    if raw.startswith((b"\r\n", b"\n")):
        return [], raw
    head, rest = raw[:end], raw[end:]
    fields: list[bytes] = []
    for line in head.splitlines(keepends=True):
        if fields and line[:1] in (b" ", b"\t"):
            fields[-1] += line
        else:
            fields.append(line)
    return fields, rest


def field_name(field: bytes) -> str:
    return field.split(b":", 1)[0].strip().decode("ascii", "replace").lower()


def field_value(field: bytes) -> bytes:
    return field.split(b":", 1)[1] if b":" in field else b""


def decoded_subject(value: bytes) -> str:
    text = value.decode("utf-8", "surrogateescape")
    try:
        return str(make_header(decode_header(" ".join(text.split()))))
    except (ValueError, LookupError, UnicodeError):
        return text


def prefixed_subject(field: bytes, prefix: str, eol: bytes) -> bytes:
    """The Subject field with `prefix` in front, unless it is there already (Re:, encoded)."""
    value = field_value(field)
    if not prefix or prefix.casefold() in decoded_subject(value).casefold():
        return field
    rest = value.lstrip(b" \t")
    if not rest.strip():
        return b"Subject: " + prefix.encode("utf-8") + eol
    return b"Subject: " + prefix.encode("utf-8") + b" " + rest


def added_fields(info: ListHeaders, author: str) -> list[tuple[str, str]]:
    post = list_address(info.list_name, info.domain)
    unsubscribe = f"<mailto:{role_address(info.list_name, info.domain, 'leave')}>"
    if info.unsubscribe_url:
        unsubscribe = f"<{info.unsubscribe_url}>, {unsubscribe}"
    fields = [
        ("List-Id", f"<{list_id(info.list_name, info.domain)}>"),
        ("List-Post", f"<mailto:{post}>"),
        ("List-Help", f"<mailto:{role_address(info.list_name, info.domain, 'request')}"
                      "?subject=help>"),
        ("List-Subscribe", f"<mailto:{role_address(info.list_name, info.domain, 'join')}>"),
        ("List-Unsubscribe", unsubscribe),
        ("List-Archive", f"<{info.archive_url}>"),
        ("Precedence", "list"),
        ("X-Loop", post),
    ]
    if info.unsubscribe_url:
        # RFC 8058: only with an https URI that takes a POST.
        fields.append(("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"))
    if info.reply_to == "list":
        fields.append(("Reply-To", post))
    elif info.reply_to == "author" and author:
        fields.append(("Reply-To", author))
    return fields


def format_field(name: str, value: str, eol: bytes) -> bytes:
    """`Name: value` and a line end; past FOLD_AT characters a list of `<URI>`s is folded
    before each further URI, never inside one."""
    line = f"{name}: {value}".encode()
    if len(line) <= FOLD_AT:
        return line + eol
    return line.replace(b", <", b"," + eol + b" <") + eol


def rewrite(raw: bytes, info: ListHeaders, author: str) -> bytes:
    """The list copy of `raw`: list fields set, Subject prefixed once, body untouched."""
    fields, rest = split_fields(raw)
    eol = b"\n" if b"\n" in raw[:4096] and b"\r\n" not in raw[:4096] else b"\r\n"
    drop = set(OWNED_FIELDS)
    if info.reply_to != "off":
        drop.add("reply-to")
    kept: list[bytes] = []
    has_subject = False
    for field in fields:
        name = field_name(field)
        if name in drop:
            continue
        if name == "subject" and not has_subject:
            has_subject = True
            field = prefixed_subject(field, info.subject_prefix, eol)
        if not field.endswith((b"\n", b"\r")):
            field += eol  # a header-only message whose last line had no line end
        kept.append(field)
    if not has_subject and info.subject_prefix:
        kept.append(b"Subject: " + info.subject_prefix.encode("utf-8") + eol)
    kept.extend(format_field(name, value, eol) for name, value in added_fields(info, author))
    if not rest:
        rest = eol
    return b"".join(kept) + rest
