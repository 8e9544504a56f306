"""Turn the bytes of an inbound SMTP transaction into a `Post` value (pure, no I/O).

Parsing never raises: anything odd about the message is recorded on the `Post`
(for example `author_problem`) so that the rules can decide what it means.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import re
from dataclasses import dataclass
from email.headerregistry import Address
from email.parser import HeaderParser

from subscribers.addresses import AddressError, normalise_address

BARE_CR_OR_LF = re.compile(rb"\r(?!\n)|(?<!\r)\n")


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


def _header_values(msg: email.message.Message, name: str) -> list[str]:
    try:
        return [str(v) for v in msg.get_all(name, [])]
    except Exception:  # a header the parser cannot even represent
        return ["<unparsable>"]


def find_author(msg: email.message.Message) -> tuple[str, str]:
    """The single author address, or ("", reason) when there is not exactly one clean one."""
    raw_values = msg.get_all("From", [])
    if len(raw_values) != 1:
        return "", "the message must have exactly one From header"
    header = raw_values[0]
    defects = getattr(header, "defects", ())
    addresses: tuple[Address, ...] = getattr(header, "addresses", ())
    if defects or len(addresses) != 1:
        return "", "the From header must hold exactly one valid address"
    address = addresses[0]
    if "@" in address.display_name or "<" in address.display_name:
        return "", "the From display name must not contain another address"
    try:
        return normalise_address(address.addr_spec), ""
    except AddressError as exc:
        return "", f"the From address is not valid: {exc}"


def fallback_message_id(raw: bytes) -> str:
    """A stable id for a message that arrived without a Message-ID."""
    return f"<sha256-{hashlib.sha256(raw).hexdigest()[:32]}@ccrlist.invalid>"


def header_block(raw: bytes) -> str:
    """The header fields as text; raw UTF-8 in headers is allowed (RFC 6532)."""
    ends = [at for at in (raw.find(b"\r\n\r\n"), raw.find(b"\n\n")) if at != -1]
    head = raw[:min(ends)] if ends else raw
    return head.decode("utf-8", "replace") + "\r\n\r\n"


def parse_post(list_name: str, envelope_from: str, raw: bytes) -> Post:
    """Read what the rules need from the headers of `raw`, without altering it."""
    msg = HeaderParser(policy=email.policy.default).parsestr(header_block(raw))
    author, problem = find_author(msg)
    ids = _header_values(msg, "Message-ID")
    message_id = ids[0].strip() if len(ids) == 1 and ids[0].strip() else ""
    subjects = _header_values(msg, "Subject")
    return Post(
        list_name=list_name,
        envelope_from=envelope_from,
        raw=raw,
        author=author,
        author_problem=problem,
        message_id=message_id[:900] or fallback_message_id(raw),
        subject=" ".join(subjects[0].split()) if subjects else "",
        list_ids=tuple(v.strip().lower() for v in _header_values(msg, "List-Id")),
        x_loops=tuple(v.strip().lower() for v in _header_values(msg, "X-Loop")),
        auto_submitted=" ".join(_header_values(msg, "Auto-Submitted")).strip().lower(),
        precedence=" ".join(_header_values(msg, "Precedence")).strip().lower(),
        bare_line_ending=BARE_CR_OR_LF.search(raw) is not None,
    )
