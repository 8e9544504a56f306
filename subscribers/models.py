"""Plain value types the store takes in and hands out (pure: no queries, no I/O).

Every time is a `Timestamp`: seconds since the Unix epoch, UTC, stored as REAL.
"""

from __future__ import annotations

import base64
import functools
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
DeliveryMode = Literal["each", "digest", "nomail"]
PostingPolicy = Literal["subscribers", "announce"]
Lang = Literal["en", "fr"]

STATUSES: tuple[Status, ...] = ("pending", "active", "unsubscribed", "disabled")
DELIVERY_MODES: tuple[DeliveryMode, ...] = ("each", "digest", "nomail")
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


@dataclass(frozen=True)
class NewMember:
    """One row to add or update: the input of `add` and `import`.

    An empty name or a missing language keeps what the person already has
    (a new person gets no name and English).
    """

    address: str
    name: str = ""
    lang: Lang | None = None


@dataclass(frozen=True)
class ImportReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0


# Posts and the list copy.

PostStatus = Literal["accepted", "held", "rejected", "discarded"]


@dataclass(frozen=True)
class NewPost:
    list_name: str
    message_id: str
    author: str
    subject: str
    envelope_from: str
    raw: bytes
    status: PostStatus
    reason: str = ""
    dmarc_policy: str = ""  # the From domain's published p= (or sp=), '' for none


@dataclass(frozen=True)
class StoredPost:
    id: int
    list_name: str
    message_id: str
    permalink: str
    author: str
    subject: str
    envelope_from: str
    raw: bytes
    status: PostStatus
    reason: str
    expanded: bool
    received_at: Timestamp
    dmarc_policy: str = ""


@dataclass(frozen=True)
class ListCopy:
    """A post's rewritten list copy and how it is sent (see `ccrlist.copies`)."""

    post: StoredPost
    body: bytes
    personalised: bool = False  # body holds `token_slot`; one message per recipient
    verp: bool = False
    token_slot: bytes = b"CCR-TOKEN-SLOT-0f3a9c"


@dataclass(frozen=True)
class PostingLookup:
    """What the store knows when a post arrives: the list's policy (None: no such list),
    the author's membership status on it (None: not a member), and whether the
    Message-ID was already stored for that list."""

    policy: str | None
    author_status: str | None
    message_id_seen: bool


@functools.lru_cache(maxsize=256)  # the facts and the store ask for each post's in turn
def permalink_for(list_name: str, message_id: str) -> str:
    """A stable archive id: the same list and Message-ID always give the same permalink."""
    digest = hashlib.sha256(f"{list_name}\0{message_id}".encode()).digest()
    return f"{list_name}/{base64.b32encode(digest[:10]).decode().lower()}"


# The delivery queue: outgoing messages and each recipient's delivery.

@dataclass(frozen=True)
class Recipient:
    address: str
    token: str = ""


@dataclass(frozen=True)
class Enqueued:
    outgoing_id: int
    created: bool
    recipients_added: int


@dataclass(frozen=True)
class Outgoing:
    id: int
    list_name: str
    sender: str
    body: bytes
    personalised: bool
    verp: bool
    token_slot: bytes = b"CCR-TOKEN-SLOT-0f3a9c"  # what each recipient's token replaces


@dataclass(frozen=True)
class Due:
    """A delivery that may be attempted now."""

    outgoing_id: int
    recipient: str
    token: str
    attempts: int
    created_at: Timestamp


@dataclass(frozen=True)
class Outcome:
    """What to record for one recipient after an attempt."""

    outgoing_id: int
    recipient: str
    status: str  # 'sent', 'deferred' or 'failed'
    reply: str
    next_try_at: Timestamp = 0.0
    bounce: bool = False


@dataclass(frozen=True)
class QueueCounts:
    pending: int = 0
    deferred: int = 0
    sent: int = 0
    failed: int = 0
    oldest_pending_at: Timestamp | None = None
    messages_in_flight: int = 0


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


# The operator's view: deliveries one by one, figures per list, owners' notices.

DeliveryState = Literal["pending", "deferred", "failed", "sent"]
DELIVERY_STATES: tuple[DeliveryState, ...] = ("pending", "deferred", "failed", "sent")


@dataclass(frozen=True)
class DeliveryRow:
    """One recipient of one outgoing message, as `ccrlist deliveries` shows it."""

    list_name: str
    source: str  # 'post', 'notice', 'owner', 'issue'
    source_ref: str  # for a post, its permalink
    post_id: int | None
    recipient: str
    status: DeliveryState
    attempts: int
    next_try_at: Timestamp
    last_reply: str
    created_at: Timestamp
    updated_at: Timestamp


@dataclass(frozen=True)
class DeliveryFilter:
    """Which deliveries a command looks at; None means any."""

    outgoing_id: int | None = None
    recipient: str | None = None
    status: DeliveryState | None = None
    since: Timestamp | None = None


@dataclass(frozen=True)
class Retried:
    deferred: int = 0  # deferred deliveries made due now
    failed: int = 0  # failed deliveries queued again


@dataclass(frozen=True)
class ListFigures:
    """One line of `ccrlist status`: a list's members, posts and deliveries by state."""

    name: str
    members: int = 0
    accepted: int = 0
    held: int = 0
    pending: int = 0
    deferred: int = 0
    failed: int = 0
    sent: int = 0


@dataclass(frozen=True)
class ReplyCount:
    """Deliveries whose last reply began with `code` ('550', '0' for no answer)."""

    code: str
    failed: int
    deferred: int


@dataclass(frozen=True)
class PostRef:
    """What an owner needs to recognise a post: who, what, when, which."""

    id: int
    list_name: str
    permalink: str
    author: str
    subject: str
    received_at: Timestamp


@dataclass(frozen=True)
class FailedDelivery:
    recipient: str
    last_reply: str


@dataclass(frozen=True)
class PostFailures:
    """A post's failed deliveries that its owners have not heard about yet."""

    outgoing_id: int
    post: PostRef
    failures: tuple[FailedDelivery, ...]
    recipients: int  # all recipients of the post
    still_deferred: int  # deliveries still being retried


ModerationOutcome = Literal["done", "unknown", "not_held"]
