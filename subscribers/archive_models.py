"""Value types of the list archive: posts read for it, threads, search, sessions (pure: no
queries, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from subscribers.models import Timestamp
from subscribers.post_models import PostStatus

# Where a post stands with the archive: posts.archived holds the last two; ARCHIVE_IN is
# said of a post an `archive` row holds (see `PostSummary.archived`).
ARCHIVE_PENDING, ARCHIVE_IN, ARCHIVE_LEFT_OUT, ARCHIVE_REMOVED = 0, 1, 2, 3
HIT_START, HIT_END = "\x02", "\x03"  # never in indexed text: control characters are removed


ArchivePolicy = Literal["public", "members", "none"]


ARCHIVE_POLICIES: tuple[ArchivePolicy, ...] = ("public", "members", "none")


BodyKind = Literal["text", "html"]


@dataclass(frozen=True)
class Attachment:
    """A MIME part offered for download: its number in the message's walk, its name and type."""

    part: int
    filename: str
    content_type: str
    size: int


@dataclass(frozen=True)
class ArchiveEntry:
    """A post read for the archive: what threading, the pages and search need."""

    message_id: str
    references: tuple[str, ...]  # oldest first; the last is the post it answers
    subject: str
    base_subject: str
    is_reply: bool  # a Re:/AW: subject or a References/In-Reply-To field
    author_name: str
    author: str
    date: Timestamp
    body_kind: BodyKind
    body: str
    search_text: str
    attachments: tuple[Attachment, ...] = ()
    left_out: bool = False  # X-No-Archive: yes / X-Archive: no


@dataclass(frozen=True)
class Placement:
    """Where an entry goes: its parent (an archived post id, or None) and its thread."""

    parent_id: int | None
    thread_id: int


@dataclass(frozen=True)
class KnownMessage:
    """An archived post as threading sees it."""

    post_id: int
    thread_id: int


@dataclass(frozen=True)
class ThreadingFacts:
    """What the archive already holds that a batch of entries may hang on."""

    by_message_id: dict[str, KnownMessage]
    # Thread roots waiting for the post they answer: in_reply_to -> [(post id, thread id)].
    orphans: dict[str, list[KnownMessage]]
    # The most recently active thread for each base subject: (thread id, last activity).
    by_subject: dict[str, tuple[int, Timestamp]]


@dataclass(frozen=True)
class ArchivedPost:
    post_id: int
    list_name: str
    permalink: str
    message_id: str
    parent_id: int | None
    thread_id: int
    date: Timestamp
    subject: str
    author_name: str
    author: str
    body_kind: BodyKind
    body: str
    attachments: tuple[Attachment, ...]


@dataclass(frozen=True)
class ThreadSummary:
    id: int
    subject: str
    author_name: str
    author: str
    started: Timestamp
    last: Timestamp
    posts: int


@dataclass(frozen=True)
class SearchHit:
    post_id: int
    permalink: str
    thread_id: int
    date: Timestamp
    author_name: str
    author: str
    subject: str  # with the matching words between HIT_START and HIT_END
    snippet: str


@dataclass(frozen=True)
class SearchQuery:
    """A search as the store runs it: an FTS5 expression (None: no words) and filters."""

    list_name: str
    match: str | None
    date_from: Timestamp | None = None
    date_to: Timestamp | None = None
    offset: int = 0
    limit: int = 20


@dataclass(frozen=True)
class Visitor:
    """Who a session cookie belongs to."""

    address: str
    expires_at: Timestamp


@dataclass(frozen=True)
class PostSummary:
    """A stored post without its bytes, for `ccrlist posts`."""

    id: int
    permalink: str
    received_at: Timestamp
    status: PostStatus
    reason: str
    author: str
    subject: str
    archived: int  # ARCHIVE_PENDING, ARCHIVE_IN, ...
