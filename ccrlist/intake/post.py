"""Turn the bytes of an inbound SMTP transaction into a `Post` value (pure, no I/O).

Parsing never raises: anything odd about the message is recorded on the `Post`
(for example `author_problem`) so that the rules can decide what it means.
"""

from __future__ import annotations

import email.policy
import re
from dataclasses import dataclass
from email.headerregistry import Address
from email.utils import parseaddr

from ccrlist.copies.long_lines import unfit_reason
from ccrlist.header_block import (
    fallback_message_id,
    field_name,
    field_value,
    readable,
    split_fields,
)
from subscribers.addresses import AddressError, normalise_address

# Characters that call for the full RFC 5322 parser when they appear in a From value.
_NEEDS_FULL_PARSE = ('"', "\\", "(", ")", ",", ";", ":", "=?", "[")


# An address plain enough to skip the full validator: dot-atom local part, ASCII domain.
SIMPLE_ADDRESS = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
                            r"@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                            r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+")


# `a@b.c` or `Name <a@b.c>` with a simple address; the caller has checked for one '@'
# and none of _NEEDS_FULL_PARSE, so the name holds no second address.
# `]` stays out of the name: the header parser would read `x.y] <a@b.c>` as x.y.
_SIMPLE_FROM = re.compile(
    rf"\s*(?:[^<>\]]*<({SIMPLE_ADDRESS.pattern})>|({SIMPLE_ADDRESS.pattern}))\s*")


# A header field's start: a name of printable US-ASCII other than ':' (RFC 5322 2.2),
# then, in the obsolete syntax receivers must still accept, blanks before the colon.
_FIELD_START = re.compile(rb"[\x21-\x39\x3b-\x7e]+[ \t]*:")


def bad_header_line(fields: list[bytes]) -> str:
    """The first line of the header block that is neither a field nor the continuation
    of one ("" when all are): mail software, DKIM signers among them, reads such a block
    differently or not at all."""
    for field in fields:
        if _FIELD_START.match(field) is None:
            return field.split(b"\n", 1)[0].rstrip(b"\r").decode("utf-8", "replace")[:200]
    return ""


def has_nul(raw: bytes) -> bool:
    """A NUL byte anywhere: RFC 5322 2.3 and RFC 6152 (8BITMIME) allow none in a message,
    and mail software reads one as the end of a string, each at another place."""
    return b"\0" in raw


def has_bare_line_ending(raw: bytes) -> bool:
    """A CR not followed by LF, or an LF not preceded by CR (counting is fast in C)."""
    pairs = raw.count(b"\r\n")
    return raw.count(b"\r") != pairs or raw.count(b"\n") != pairs


@dataclass(frozen=True)
class Post:
    """One message sent to one list, as the rules see it."""

    list_name: str
    envelope_from: str
    raw: bytes
    author: str  # normalised address, or "" when `author_problem` says why not
    author_problem: str
    message_id: str
    subject: str
    list_ids: tuple[str, ...]
    x_loops: tuple[str, ...]
    auto_submitted: str
    precedence: str
    bare_line_ending: bool
    bad_header_line: str = ""  # see `bad_header_line`
    nul: bool = False  # see `has_nul`
    # Why a line past 998 characters cannot be re-encoded for the list copy ("" if none).
    unfit_long_line: str = ""


# The fields the rules read; a real post's other 20 or so (Received, DKIM-Signature,
# ...) are not decoded.
RULE_FIELDS = frozenset({"from", "message-id", "subject", "list-id", "x-loop",
                         "auto-submitted", "precedence"})


def header_fields(fields: list[bytes],
                  wanted: frozenset[str] = RULE_FIELDS) -> dict[str, list[str]]:
    """The unfolded values of the `wanted` header fields by lower-case name, in order.

    `fields` come from the same split as the list copy's rewrite (`headers.split_fields`),
    so the rules judge exactly the fields subscribers will see. Raw UTF-8 is allowed
    (RFC 6532).
    """
    found: dict[str, list[str]] = {}
    for field in fields:
        if b":" not in field:
            continue  # not a field; the rewrite copies it through as it is
        name = field_name(field)
        if name in wanted:
            value = field_value(field).decode("utf-8", "replace")
            found.setdefault(name, []).append(
                value.replace("\r", "").replace("\n", "").strip())
    return found


def find_author(values: list[str]) -> tuple[str, str]:
    """The single author address, or ("", reason) when there is not exactly one clean one."""
    if len(values) != 1:
        return "", "the message must have exactly one From header"
    value = values[0]
    if value.count("@") == 1 and not any(c in value for c in _NEEDS_FULL_PARSE):
        # The common `Name <a@b>` with nothing quoted, commented or encoded: one '@' means
        # one address and no address in the name; the header registry costs 0.2 ms a post.
        simple = _SIMPLE_FROM.fullmatch(value)
        if simple is not None:
            local, _, domain = (simple.group(1) or simple.group(2)).rpartition("@")
            return f"{local}@{domain.lower()}", ""
        _, addr = parseaddr(value)
        local, _, domain = addr.rpartition("@")
        if SIMPLE_ADDRESS.fullmatch(addr):
            return f"{local}@{domain.lower()}", ""
        try:
            return normalise_address(addr), ""
        except AddressError as exc:
            return "", f"the From address is not valid: {exc}"
    try:
        header = email.policy.default.header_factory("From", value)
    except Exception:  # the header parser gave up on it entirely
        return "", "the From header cannot be parsed"
    defects = getattr(header, "defects", ())
    addresses: tuple[Address, ...] = getattr(header, "addresses", ())
    groups = getattr(header, "groups", ())
    if defects or len(addresses) != 1 or any(g.display_name is not None for g in groups):
        return "", "the From header must hold exactly one valid address"
    address = addresses[0]
    if "@" in address.display_name or "<" in address.display_name:
        return "", "the From display name must not contain another address"
    try:
        return normalise_address(address.addr_spec), ""
    except AddressError as exc:
        return "", f"the From address is not valid: {exc}"


def parse_post(list_name: str, envelope_from: str, raw: bytes) -> Post:
    """Read what the rules need from the headers of `raw`, without altering it."""
    fields, _ = split_fields(raw)
    headers = header_fields(fields)
    author, problem = find_author(headers.get("from", []))
    ids = headers.get("message-id", [])
    message_id = ids[0] if len(ids) == 1 else ""
    subjects = headers.get("subject", [])
    return Post(
        list_name=list_name,
        envelope_from=envelope_from,
        raw=raw,
        author=author,
        author_problem=problem,
        message_id=message_id[:900] or fallback_message_id(raw),
        subject=readable(subjects[0]) if subjects else "",
        list_ids=tuple(v.lower() for v in headers.get("list-id", [])),
        x_loops=tuple(v.lower() for v in headers.get("x-loop", [])),
        auto_submitted=" ".join(headers.get("auto-submitted", [])).strip().lower(),
        precedence=" ".join(headers.get("precedence", [])).strip().lower(),
        bare_line_ending=has_bare_line_ending(raw),
        bad_header_line=bad_header_line(fields),
        nul=has_nul(raw),
        unfit_long_line=unfit_reason(raw),
    )
