"""Value types of posts, their list copies, the delivery queue and digests (pure: no queries,
no I/O). Times are `Timestamp`s (see `subscribers.models`)."""

from __future__ import annotations

import base64
import functools
import hashlib
from dataclasses import dataclass
from typing import Literal

from subscribers.models import DeliveryMode, DigestFormat, Lang, Timestamp

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


@dataclass(frozen=True)
class DigestMember:
    """A member with posts held for their next digest. `receiving` is False while the
    member receives nothing (paused); then `mode` is 'nomail' and the rest may be empty."""

    person_id: int
    address: str
    token: str
    lang: Lang
    mode: DeliveryMode
    digest_format: DigestFormat
    post_ids: tuple[int, ...]  # in the order they arrived
    size: int  # bytes of those posts as received
    receiving: bool = True


@dataclass(frozen=True)
class DigestMessage:
    """One rendered digest and the members it goes to; it holds `token_slot` where each
    member's token goes."""

    source_ref: str
    sender: str
    body: bytes
    token_slot: bytes
    recipients: tuple[Recipient, ...]
    person_ids: tuple[int, ...]
    post_ids: tuple[int, ...]


@dataclass(frozen=True)
class DigestRun:
    """What one run of a list's digests commits at once: the issue, its messages (none
    when only the schedule moves on), and the scheduled times now served."""

    list_name: str
    volume: int
    number: int
    at: Timestamp
    messages: tuple[DigestMessage, ...]
    served: tuple[tuple[str, Timestamp], ...]  # ('daily' | 'weekly', time)
