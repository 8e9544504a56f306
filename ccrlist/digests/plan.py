"""Who gets a digest now, and which members share one (pure).

A member's waiting posts go out when a rule below says so, first rule wins; a paused
member gets nothing until the pause ends, and then the posts held from before it go
with the next digest. Members whose digests would be the same, byte for byte but for
their token (the same posts, mode, language and format), share one rendered message.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from subscribers.models import DeliveryMode, DigestFormat, Lang, Timestamp
from subscribers.post_models import DigestMember


@dataclass(frozen=True)
class Occasion:
    """What is due on a list now: its daily time has passed since the last daily digest
    (`daily`), its weekly time likewise, or everything was asked for (`everything`)."""

    daily: bool = False
    weekly: bool = False
    everything: bool = False
    max_bytes: int = 0  # 0: no size limit


DueRule = Callable[[DigestMember, Occasion], str | None]


def asked(member: DigestMember, occasion: Occasion) -> str | None:
    return "asked" if occasion.everything else None


def grown(member: DigestMember, occasion: Occasion) -> str | None:
    """A digest that reached `[digest] max_bytes` does not wait for its time."""
    return "size" if occasion.max_bytes and member.size >= occasion.max_bytes else None


def left_digests(member: DigestMember, occasion: Occasion) -> str | None:
    """A member who now takes each post gets what was held for them at once."""
    return "mode" if member.mode == "each" else None


def daily(member: DigestMember, occasion: Occasion) -> str | None:
    return "daily" if member.mode == "daily" and occasion.daily else None


def weekly(member: DigestMember, occasion: Occasion) -> str | None:
    return "weekly" if member.mode == "weekly" and occasion.weekly else None


DUE_RULES: tuple[DueRule, ...] = (asked, grown, left_digests, daily, weekly)


def why_due(member: DigestMember, occasion: Occasion) -> str | None:
    """Why `member`'s digest goes now (the first rule that says so), or None."""
    if not member.receiving:
        return None
    for rule in DUE_RULES:
        reason = rule(member, occasion)
        if reason is not None:
            return reason
    return None


@dataclass(frozen=True)
class DigestGroup:
    """Members who get the same digest: one message, personalised by token."""

    mode: DeliveryMode
    lang: Lang
    digest_format: DigestFormat
    post_ids: tuple[int, ...]
    members: tuple[DigestMember, ...]

    @property
    def key(self) -> str:
        """Names the group within its issue, the same after a restart."""
        text = f"{self.mode}|{self.lang}|{self.digest_format}|{','.join(map(str, self.post_ids))}"
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def groups(waiting: Sequence[DigestMember], occasion: Occasion) -> list[DigestGroup]:
    """The digests to send now, one per distinct content, in a stable order."""
    found: dict[tuple[str, str, str, tuple[int, ...]], list[DigestMember]] = {}
    for member in waiting:
        if why_due(member, occasion) is not None:
            key = (member.mode, member.lang, member.digest_format, member.post_ids)
            found.setdefault(key, []).append(member)
    return [DigestGroup(members[0].mode, members[0].lang, members[0].digest_format,
                        members[0].post_ids, tuple(members))
            for _, members in sorted(found.items(), key=lambda kv: kv[0])]


@dataclass(frozen=True)
class Issue:
    volume: int
    number: int


def next_issue(last: Issue | None, last_at: Timestamp | None, now: Timestamp,
               zone: ZoneInfo) -> Issue:
    """Issues are numbered per list from 1; a new volume starts with each calendar year
    (local time), as Mailman's yearly volumes do."""
    if last is None or last_at is None:
        return Issue(1, 1)
    if datetime.fromtimestamp(now, zone).year > datetime.fromtimestamp(last_at, zone).year:
        return Issue(last.volume + 1, 1)
    return Issue(last.volume, last.number + 1)
