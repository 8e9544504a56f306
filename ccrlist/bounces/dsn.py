"""Read bounce messages (pure): RFC 3464 delivery-status reports, plus Exim-style
`X-Failed-Recipients` and plain-text bounces, into per-recipient failures."""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.policy import Policy
from typing import Literal

Kind = Literal["hard", "soft"]

_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
_SMTP_CODE = re.compile(r"\b([45])\d\d[ -]")
# Permanent codes that do not mean the address is dead: a full mailbox, or a policy
# rejection that is about our server or the content (spam filters, reputation).
_SOFT_PERMANENT = ("5.2.2", "5.7.")
# Real mail nests a few levels (a report holding a message holding an alternative);
# thousands of levels exhaust Python's stack in the parser and in walk().
MAX_MIME_DEPTH = 32


@dataclass(frozen=True)
class ReportedFailure:
    recipient: str  # may be "" when only a VERP address says who it was
    kind: Kind
    status: str
    diagnostic: str

    @property
    def reason(self) -> str:
        return self.diagnostic or self.status


def classify(status: str, action: str = "failed") -> Kind:
    """`5.1.1` is hard; `4.x.x`, delays, full mailboxes and policy blocks are soft."""
    if action == "delayed" or not status.startswith("5"):
        return "soft"
    return "soft" if status.startswith(_SOFT_PERMANENT) else "hard"


def _address(field: str | None) -> str:
    """`rfc822; jo@example.org` -> `jo@example.org`."""
    if not field:
        return ""
    kind, semi, value = str(field).partition(";")
    value = value if semi else kind
    return value.strip().strip("<>").strip()


def _one_line(text: str | None) -> str:
    return " ".join(str(text or "").split())[:500]


def _from_report(part: Message) -> list[ReportedFailure]:
    payload = part.get_payload()
    blocks = [b for b in payload if isinstance(b, Message)] if isinstance(payload, list) else []
    failures: list[ReportedFailure] = []
    for block in blocks[1:]:  # the first block is about the message, the rest per recipient
        action = str(block.get("Action", "")).strip().lower()
        if action not in ("failed", "delayed"):
            continue
        diagnostic = _one_line(block.get("Diagnostic-Code"))
        found = _STATUS.search(str(block.get("Status", ""))) or _STATUS.search(diagnostic)
        status = found.group(0) if found else ("5.0.0" if action == "failed" else "4.0.0")
        recipient = _address(block.get("Original-Recipient")) or _address(
            block.get("Final-Recipient"))
        failures.append(ReportedFailure(recipient, classify(status, action), status,
                                _strip_type(diagnostic)))
    return failures


def _strip_type(diagnostic: str) -> str:
    kind, semi, rest = diagnostic.partition(";")
    return rest.strip() if semi and " " not in kind.strip() else diagnostic


def _text_of(msg: Message) -> str:
    for part in msg.walk():
        if part.get_content_type() == "text/plain":
            raw = part.get_payload(decode=True)
            if isinstance(raw, bytes):
                return _decode(raw, _charset(part))
    return ""


def _charset(part: Message) -> str:
    """The declared charset, else "utf-8"; also when the parameter cannot be read."""
    try:
        return part.get_content_charset() or "utf-8"
    except (ValueError, TypeError):
        # A NUL in the charset name, or RFC 2231 pieces (`charset*0`, `charset*`) that
        # CPython's decode_params cannot sort.
        return "utf-8"


def _decode(raw: bytes, charset: str) -> str:
    """Text in the declared charset, else UTF-8: a charset may be unknown, contain NUL,
    or name a codec that is not a text encoding (`base64`)."""
    try:
        return raw.decode(charset, "replace")
    except (LookupError, ValueError):
        return raw.decode("utf-8", "replace")


def _depth(msg: Message) -> int:
    """How deep the MIME tree goes, counted without recursion."""
    deepest, stack = 0, [(msg, 1)]
    while stack:
        part, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth > MAX_MIME_DEPTH:
            break
        if part.is_multipart():  # get_payload() of a leaf would decode it, and can raise
            stack.extend((p, depth + 1) for p in part.get_payload() if isinstance(p, Message))
    return deepest


def parse_message(raw: bytes, policy: Policy) -> Message:
    """The whole message, or only its headers when its MIME tree is too deep to walk."""
    # Each level needs a boundary of its own: with few of them, the parse cannot go deep, and
    # with many, a first look saves a futile half-second parse of a hostile message.
    if raw.lower().count(b"boundary") > MAX_MIME_DEPTH:
        return BytesParser(policy=policy).parsebytes(raw, headersonly=True)
    try:
        msg = email.message_from_bytes(raw, policy=policy)
        if _depth(msg) <= MAX_MIME_DEPTH:
            return msg
    except (RecursionError, TypeError):
        # TypeError: a boundary given in RFC 2231 pieces with and without a number, which
        # CPython's decode_params cannot sort. The headers can still be read.
        pass
    return BytesParser(policy=policy).parsebytes(raw, headersonly=True)


def _from_text(text: str) -> tuple[Kind, str, str] | None:
    """The kind, status and diagnostic line of a plain-text bounce, or None."""
    for line in text.splitlines():
        status = _STATUS.search(line)
        code = _SMTP_CODE.search(line)
        if status or code:
            value = status.group(0) if status else f"{code.group(1) if code else '5'}.0.0"
            return classify(value), value, _one_line(line)
    lowered = text.lower()
    if "permanent error" in lowered or "permanently" in lowered:
        return "hard", "5.0.0", "permanent error"
    if "temporary" in lowered or "delayed" in lowered or "deferred" in lowered:
        return "soft", "4.0.0", "temporary error"
    return None


def parse_bounce(raw: bytes) -> list[ReportedFailure]:
    """Every failed or delayed recipient the bounce reports; [] when it is not a bounce.

    A plain-text bounce with no recipient we can name gives one ReportedFailure with an
    empty recipient: the caller knows who it was from the VERP address.
    """
    msg = parse_message(raw, email.policy.compat32)
    for part in msg.walk():
        if part.get_content_type() == "message/delivery-status":
            return _from_report(part)
    found = _from_text(_text_of(msg))
    failed = [a.strip() for value in msg.get_all("X-Failed-Recipients", [])
              for a in str(value).split(",") if a.strip()]
    if failed:
        kind, status, diagnostic = found or ("hard", "5.0.0", "")
        return [ReportedFailure(r, kind, status, diagnostic) for r in failed]
    if found and _looks_like_bounce(msg):
        return [ReportedFailure("", *found)]
    return []


def _looks_like_bounce(msg: Message) -> bool:
    sender = str(msg.get("From", "")).lower()
    subject = str(msg.get("Subject", "")).lower()
    return ("mailer-daemon" in sender or "postmaster" in sender
            or any(w in subject for w in ("undeliver", "delivery status", "failure notice",
                                          "delivery failed", "returned mail", "non remis")))


def as_email(raw: bytes) -> EmailMessage:
    """Parse with the modern policy (for headers of admin messages)."""
    msg = parse_message(raw, email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg
