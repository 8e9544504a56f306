"""Value types of the operator's view: deliveries one by one, figures per list, owners'
notices (pure: no queries, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from subscribers.models import Timestamp

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
