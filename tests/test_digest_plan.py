"""Who gets a digest now, who shares one, and how issues are numbered (pure, by tables)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from ccrlist.digests.plan import Issue, Occasion, groups, next_issue, why_due
from subscribers.post_models import DigestMember

TORONTO = ZoneInfo("America/Toronto")


def member(person: int = 1, mode: str = "daily", lang: str = "en", fmt: str = "mime",
           posts: tuple[int, ...] = (1, 2), size: int = 2000,
           receiving: bool = True) -> DigestMember:
    return DigestMember(person, f"m{person}@example.org", f"tok{person}", lang,  # type: ignore[arg-type]
                        mode if receiving else "nomail", fmt, posts, size,  # type: ignore[arg-type]
                        receiving)


NOTHING = Occasion(max_bytes=10_000)
DAILY = Occasion(daily=True, max_bytes=10_000)
WEEKLY = Occasion(weekly=True, max_bytes=10_000)


@pytest.mark.parametrize(("who", "occasion", "expected"), [
    (member(mode="daily"), NOTHING, None),
    (member(mode="daily"), DAILY, "daily"),
    (member(mode="daily"), WEEKLY, None),
    (member(mode="weekly"), DAILY, None),
    (member(mode="weekly"), WEEKLY, "weekly"),
    # Grown past max_bytes: now, whatever the hour.
    (member(mode="weekly", size=10_000), NOTHING, "size"),
    (member(mode="daily", size=9_999), NOTHING, None),
    (member(mode="daily", size=10**9), Occasion(max_bytes=0), None),  # 0: no limit
    # Back to each post: what was held goes at once.
    (member(mode="each"), NOTHING, "mode"),
    # Paused: nothing, not even when asked or grown; it waits for the pause to end.
    (member(receiving=False), DAILY, None),
    (member(receiving=False, size=10**9), NOTHING, None),
    (member(receiving=False), Occasion(everything=True), None),
    (member(mode="weekly"), Occasion(everything=True), "asked"),
])
def test_why_due(who: DigestMember, occasion: Occasion, expected: str | None) -> None:
    assert why_due(who, occasion) == expected


def test_members_with_the_same_digest_share_one_message() -> None:
    waiting = [
        member(1), member(2), member(3, lang="fr"), member(4, fmt="plain"),
        member(5, posts=(2,)),  # joined after post 1: a digest of its own
        member(6, mode="weekly"),  # not due today
        member(7, receiving=False),  # paused
        member(8, mode="each", posts=(1, 2)),  # left digests: its last one, worded so
    ]
    found = groups(waiting, DAILY)
    assert sorted((g.mode, g.lang, g.digest_format, g.post_ids,
                   tuple(m.person_id for m in g.members)) for g in found) == sorted([
        ("daily", "en", "mime", (1, 2), (1, 2)),
        ("daily", "fr", "mime", (1, 2), (3,)),
        ("daily", "en", "plain", (1, 2), (4,)),
        ("daily", "en", "mime", (2,), (5,)),
        ("each", "en", "mime", (1, 2), (8,)),
    ])
    assert len({g.key for g in found}) == len(found)
    # The same content gives the same key after a restart.
    assert [g.key for g in groups(waiting, DAILY)] == [g.key for g in found]


def at(*args: int) -> float:
    return datetime(*args, tzinfo=UTC).timestamp()  # type: ignore[misc]


@pytest.mark.parametrize(("last", "last_at", "now", "expected"), [
    (None, None, at(2026, 5, 1), Issue(1, 1)),
    (Issue(1, 1), at(2026, 5, 1), at(2026, 5, 2), Issue(1, 2)),
    (Issue(3, 41), at(2026, 12, 31, 13), at(2026, 12, 31, 23), Issue(3, 42)),
    # 1 January at 2:00 UTC is still 31 December in Toronto: the same volume.
    (Issue(3, 42), at(2026, 12, 31, 13), at(2027, 1, 1, 2), Issue(3, 43)),
    (Issue(3, 43), at(2027, 1, 1, 2), at(2027, 1, 1, 13), Issue(4, 1)),
])
def test_issue_numbers(last: Issue | None, last_at: float | None, now: float,
                       expected: Issue) -> None:
    assert next_issue(last, last_at, now, TORONTO) == expected
