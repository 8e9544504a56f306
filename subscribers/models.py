"""Plain value types the store takes in and hands out (pure: no queries, no I/O).

Every time is a `Timestamp`: seconds since the Unix epoch, UTC, stored as REAL.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

Timestamp = float  # seconds since the Unix epoch (UTC); REAL in the schema


def iso_utc(at: Timestamp) -> str:
    """`at` as people read it: 2026-11-24T10:00:00Z."""
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

# Identifiers that come from outside (a command line, a URL, an email address), each
# checked as a whole: `fullmatch`, because `$` in `re.match` also lets a final newline in.
# A list name is also an email local part, so its dots stand between other characters.
LIST_NAME_PATTERN = r"[a-z0-9](?:[a-z0-9_-]|\.(?=[a-z0-9_-])){0,63}"
# secrets.token_urlsafe(18) or (24): confirmation and membership tokens.
TOKEN_PATTERN = r"[A-Za-z0-9_-]{16,64}"
# `permalink_for`: the list, a slash, 10 bytes of SHA-256 in lower-case base32.
PERMALINK_PATTERN = LIST_NAME_PATTERN + r"/[a-z2-7]{16}"
_LIST_NAME = re.compile(LIST_NAME_PATTERN)
_TOKEN = re.compile(TOKEN_PATTERN)
_PERMALINK = re.compile(PERMALINK_PATTERN)
_POST_NUMBER = re.compile(r"[0-9]{1,18}")  # fits SQLite's INTEGER


def is_list_name(text: str) -> bool:
    return _LIST_NAME.fullmatch(text) is not None


def is_token(text: str) -> bool:
    return _TOKEN.fullmatch(text) is not None


def is_permalink(text: str) -> bool:
    return _PERMALINK.fullmatch(text) is not None


def post_number(text: str) -> int | None:
    """The post number `text` names (ASCII digits only), else None."""
    return int(text) if _POST_NUMBER.fullmatch(text) else None


Status = Literal["pending", "active", "unsubscribed", "disabled"]
# How a member receives a list's posts: each one, a daily or weekly digest, or nothing for
# now (`nomail`: paused, until `paused_until` or for good).
DeliveryMode = Literal["each", "daily", "weekly", "nomail"]
ReceiveMode = Literal["each", "daily", "weekly"]  # the modes that receive something
DigestFormat = Literal["mime", "plain"]  # MIME, or plain text (RFC 1153)
PostingPolicy = Literal["subscribers", "announce"]
Lang = Literal["en", "fr"]

STATUSES: tuple[Status, ...] = ("pending", "active", "unsubscribed", "disabled")
DELIVERY_MODES: tuple[DeliveryMode, ...] = ("each", "daily", "weekly", "nomail")
RECEIVE_MODES: tuple[ReceiveMode, ...] = ("each", "daily", "weekly")
DIGEST_FORMATS: tuple[DigestFormat, ...] = ("mime", "plain")
POSTING_POLICIES: tuple[PostingPolicy, ...] = ("subscribers", "announce")
LANGS: tuple[Lang, ...] = ("en", "fr")


@dataclass(frozen=True)
class MailingList:
    name: str
    description: str
    policy: PostingPolicy
    members: int = 0


@dataclass(frozen=True)
class Member:
    list_name: str
    address: str
    name: str
    lang: Lang
    status: Status
    delivery_mode: DeliveryMode
    token: str
    joined_at: Timestamp | None
    left_at: Timestamp | None
    # `delivery_mode` is the mode now: a pause whose end has passed is over. While a pause
    # lasts, `paused_until` is its end (None: no end) and `resume_mode` the mode after it.
    paused_until: Timestamp | None = None
    resume_mode: ReceiveMode = "each"
    digest_format: DigestFormat = "mime"

    @property
    def delivery(self) -> Delivery:
        """How the member receives posts, with a pause that has ended already over."""
        return Delivery(self.delivery_mode, self.paused_until, self.resume_mode,
                        self.digest_format)


@dataclass(frozen=True)
class Delivery:
    """How a membership receives posts, as stored: `mode` ('nomail' while paused), the end
    of a pause (None: none, or no end), the mode after it, and the digest format."""

    mode: DeliveryMode = "each"
    paused_until: Timestamp | None = None
    resume_mode: ReceiveMode = "each"
    digest_format: DigestFormat = "mime"

    @property
    def receive_mode(self) -> ReceiveMode:
        """The mode the member receives in when not paused."""
        return self.resume_mode if self.mode == "nomail" else self.mode


@dataclass(frozen=True)
class DeliveryChoice:
    """A change to how a member receives posts; each None keeps what the member has.

    `pause` True pauses (until `paused_until`, or with no end when it is None), False
    resumes; `mode` is the mode to receive in (after the pause, while paused).
    """

    mode: ReceiveMode | None = None
    digest_format: DigestFormat | None = None
    pause: bool | None = None
    paused_until: Timestamp | None = None

    @property
    def empty(self) -> bool:
        return self.mode is None and self.digest_format is None and self.pause is None


def chosen_delivery(current: Delivery, choice: DeliveryChoice) -> Delivery:
    """The stored delivery after `choice` is applied to `current`."""
    receive = choice.mode or current.receive_mode
    fmt = choice.digest_format or current.digest_format
    paused = current.mode == "nomail" if choice.pause is None else choice.pause
    if not paused:
        return Delivery(receive, None, receive, fmt)
    until = current.paused_until if choice.pause is None else choice.paused_until
    return Delivery("nomail", until, receive, fmt)


@dataclass(frozen=True)
class NewMember:
    """One row to add or update: the input of `add` and `import`.

    An empty name, a missing language or an empty delivery choice keeps what the person
    already has (a new person gets no name, English, and each post).
    """

    address: str
    name: str = ""
    lang: Lang | None = None
    delivery: DeliveryChoice = DeliveryChoice()


@dataclass(frozen=True)
class ImportReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0


# Bounces and double opt-in.

BounceKind = Literal["hard", "soft"]


EnableResult = Literal["enabled", "not_disabled", "not_member"]


@dataclass(frozen=True)
class BounceEvent:
    kind: BounceKind
    reply: str
    at: Timestamp


ConfirmAction = Literal["subscribe", "unsubscribe"]


TokenState = Literal["valid", "expired", "used", "unknown"]


@dataclass(frozen=True)
class Confirmation:
    list_name: str
    address: str
    action: ConfirmAction
    name: str
    lang: Lang
    expires_at: Timestamp


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()
