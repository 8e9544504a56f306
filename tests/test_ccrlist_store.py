"""The post store on a real SQLite file: group commit, idempotent expansion, owner notices."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from ccrlist_helpers import message

from ccrlist.config.settings import PostingSettings, Settings
from ccrlist.copies.expander import Expander
from ccrlist.moderation.notifier import OwnerNotifier
from subscribers.db import Connection, open_database
from subscribers.members import MemberStore
from subscribers.models import NewMember
from subscribers.owners import OwnerStore
from subscribers.post_models import ListCopy, NewPost, Outcome, Recipient, StoredPost, permalink_for
from subscribers.posts import PostStore
from subscribers.queue import QueueStore


@pytest.fixture
async def conn(tmp_path: Path) -> AsyncIterator[Connection]:
    c = await open_database(tmp_path / "ccr.sqlite3")
    members = MemberStore(c)
    await members.add("ccrlist", [NewMember(a) for a in
                                  ("a@example.org", "b@example.org", "c@example.org",
                                   "d@example.org", "e@example.org")])
    await members.set_status("ccrlist", "d@example.org", "disabled")
    await c.execute("UPDATE memberships SET delivery_mode = 'nomail' WHERE person_id = "
                    "(SELECT id FROM people WHERE address_key = 'e@example.org')")
    yield c
    await c.close()


def new_post(mid: str, status: str = "accepted") -> NewPost:
    return NewPost("ccrlist", mid, "a@example.org", "s", "a@example.org",
                   message(message_id=mid), status)  # type: ignore[arg-type]


async def deliveries(conn: Connection) -> list[tuple[str, str]]:
    rows = await conn.execute_fetchall(
        "SELECT o.source_ref, d.recipient FROM deliveries d JOIN outgoing o ON o.id = "
        "d.outgoing_id WHERE o.source = 'post' ORDER BY 1, 2")
    return [(r[0], r[1]) for r in rows]


async def test_group_commit_reports_duplicates_within_and_across_groups(
        conn: Connection) -> None:
    posts = PostStore(conn)
    assert await posts.store_batch([new_post("<1@x>"), new_post("<2@x>"), new_post("<1@x>")]) \
        == [True, True, False]
    assert await posts.store_batch([new_post("<2@x>"), new_post("<3@x>")]) == [False, True]
    assert (await posts.counts())["accepted"] == 3
    assert (await posts.find(permalink_for("ccrlist", "<3@x>"))) is not None


class _BrokenFor(Expander):
    """An expander whose rendering fails for one post, as a bug in it would."""

    def __init__(self, posts: PostStore, settings: Settings, broken: str) -> None:
        super().__init__(posts, settings, lambda: None)
        self.broken = broken

    def list_copy(self, post: StoredPost) -> ListCopy:
        if post.message_id == self.broken:
            raise ValueError("cannot render")
        return super().list_copy(post)


async def test_a_post_that_cannot_be_rendered_is_held_and_the_others_go_out(
        conn: Connection) -> None:
    posts = PostStore(conn)
    await posts.store_batch([new_post("<1@x>"), new_post("<2@x>"), new_post("<3@x>")])
    settings = dataclasses.replace(Settings(), domain="lists.example.org")
    assert await _BrokenFor(posts, settings, "<2@x>").expand_pending() == 3
    sent = {link for link, _ in await deliveries(conn)}
    assert sent == {permalink_for("ccrlist", "<1@x>"), permalink_for("ccrlist", "<3@x>")}
    [held] = await posts.held()
    assert held.message_id == "<2@x>" and "list copy could not be made" in held.reason
    # Once the bug is fixed, a moderator approves it and it goes out like the others.
    await posts.moderate_held(str(held.id), "accepted", "approved")
    assert await Expander(posts, settings, lambda: None).expand_pending() == 1
    assert len({link for link, _ in await deliveries(conn)}) == 3


async def test_expansion_is_idempotent_and_skips_inactive_and_nomail(conn: Connection) -> None:
    posts = PostStore(conn)
    await posts.store_batch([new_post("<1@x>"), new_post("<2@x>", "held")])
    settings = dataclasses.replace(Settings(), domain="lists.example.org")
    expander = Expander(posts, settings, lambda: None)
    assert await expander.expand_pending() == 1
    assert await expander.expand_pending() == 0
    link = permalink_for("ccrlist", "<1@x>")
    assert await deliveries(conn) == [(link, "a@example.org"), (link, "b@example.org"),
                                      (link, "c@example.org")]
    # A crash after the outgoing row but before `expanded` was set: expanding again adds
    # only what is missing.
    await conn.execute("UPDATE posts SET expanded = 0")
    await conn.execute("DELETE FROM deliveries WHERE recipient = 'b@example.org'")
    assert await expander.expand_pending() == 1
    assert len(await deliveries(conn)) == 3
    body = next(iter(await conn.execute_fetchall("SELECT body, sender FROM outgoing")))
    assert b"List-Id: <ccrlist.lists.example.org>" in body[0]
    assert body[1] == "ccrlist-bounces@lists.example.org"


async def expansion_steps(conn: Connection, expander: Expander, posts: PostStore,
                          first: int, count: int) -> int:
    """SQLite VM instructions (in thousands) spent expanding `count` new posts."""
    await posts.store_batch([new_post(f"<{n}@x>") for n in range(first, first + count)])
    steps = 0

    def tick() -> int:
        nonlocal steps
        steps += 1
        return 0

    await conn.set_progress_handler(tick, 1000)
    assert await expander.expand_pending() == count
    await conn.set_progress_handler(None, 1000)
    return steps


async def test_expansion_cost_does_not_grow_with_the_archive(conn: Connection) -> None:
    # The planner once chose to scan every archived post's outgoing row for each
    # expansion, so expanding slowed down as the archive grew.
    posts = PostStore(conn)
    expander = Expander(posts, dataclasses.replace(Settings(), domain="lists.example.org"),
                        lambda: None)
    early = await expansion_steps(conn, expander, posts, 0, 100)
    for start in range(100, 3000, 500):
        await posts.store_batch([new_post(f"<{n}@x>") for n in range(start, start + 500)])
        await expander.expand_pending()
    late = await expansion_steps(conn, expander, posts, 5000, 100)
    assert late < 2 * early + 50, (early, late)


def text_of(raw: bytes) -> str:
    msg = message_from_bytes(raw, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    return f"{msg['Subject']}\n{msg.get_content()}"


async def summaries(conn: Connection) -> list[tuple[str, str]]:
    """The failure summaries queued so far: (recipient, subject and text)."""
    return [(r[1], text_of(bytes(r[0]))) for r in await conn.execute_fetchall(
        "SELECT o.body, d.recipient FROM outgoing o JOIN deliveries d ON d.outgoing_id = o.id "
        "WHERE o.source = 'notice' AND o.source_ref LIKE 'failures:%' ORDER BY o.id")]


async def test_one_summary_per_post_once_its_first_pass_is_over(conn: Connection) -> None:
    posts = PostStore(conn)
    await posts.store_batch([new_post("<1@x>")])
    settings = dataclasses.replace(Settings(), domain="lists.example.org",
                                   posting=PostingSettings(owners=("boss@ccrweb.ca",)))
    await Expander(posts, settings, lambda: None).expand_pending()
    notifier = OwnerNotifier(conn, settings, lambda: None)
    queue = QueueStore(conn)
    await queue.record([Outcome(1, "b@example.org", "failed", "550 5.1.1 no such user",
                                bounce=True)], now=0.0)
    # a@ and c@ have not been tried yet: the first pass is not over.
    assert await notifier.summarise_failures() == 0
    await queue.record([
        Outcome(1, "a@example.org", "deferred", "451 4.7.1 greylisted", next_try_at=60.0),
        Outcome(1, "c@example.org", "sent", "250 ok"),
    ], now=1.0)
    assert await notifier.summarise_failures() == 1
    assert await notifier.summarise_failures() == 0
    [(to, text)] = await summaries(conn)
    assert to == "boss@ccrweb.ca"
    assert "b@example.org: 550 5.1.1 no such user" in text
    assert "1 more are still being retried" in text and "a@example.org:" not in text
    assert '1 of 3 copies of "s" not delivered' in text
    # a@ gives up later: one more summary, naming only a@.
    await queue.record([Outcome(1, "a@example.org", "failed", "0 relay unavailable: timed out")],
                       now=2.0)
    assert await notifier.summarise_failures() == 1
    assert await notifier.summarise_failures() == 0
    later = (await summaries(conn))[1][1]
    assert "a@example.org: 0 relay unavailable: timed out" in later
    assert "b@example.org:" not in later and "still being retried" not in later


async def test_a_later_failure_waits_until_nothing_is_deferred(conn: Connection) -> None:
    posts = PostStore(conn)
    await posts.store_batch([new_post("<1@x>")])
    settings = dataclasses.replace(Settings(), domain="lists.example.org")
    await Expander(posts, settings, lambda: None).expand_pending()
    notifier = OwnerNotifier(conn, settings, lambda: None)
    queue = QueueStore(conn)
    await queue.record([
        Outcome(1, "a@example.org", "failed", "550 no", bounce=True),
        Outcome(1, "b@example.org", "deferred", "451 later", next_try_at=60.0),
        Outcome(1, "c@example.org", "deferred", "451 later", next_try_at=60.0),
    ], now=0.0)
    assert await notifier.summarise_failures() == 1
    await queue.record([Outcome(1, "b@example.org", "failed", "0 gave up")], now=1.0)
    assert await notifier.summarise_failures() == 0  # c@ is still being retried
    await queue.record([Outcome(1, "c@example.org", "sent", "250 ok")], now=2.0)
    assert await notifier.summarise_failures() == 1
    texts = [t for _, t in await summaries(conn)]
    assert len(texts) == 2 and "b@example.org: 0 gave up" in texts[1]
    assert "c@example.org" not in texts[1]
    # No owner in the database or the settings: the list's -owner@ address.
    assert {to for to, _ in await summaries(conn)} == {"ccrlist-owner@lists.example.org"}


async def test_summary_goes_to_the_lists_owners_in_their_language(conn: Connection) -> None:
    posts = PostStore(conn)
    await posts.store_batch([new_post("<1@x>")])
    owners = OwnerStore(conn)
    await owners.add("ccrlist", "coordinator@ccrweb.ca")
    await owners.add("ccrlist", "coordonnatrice@ccrweb.ca")
    await MemberStore(conn).add("ccrlist", [NewMember("coordonnatrice@ccrweb.ca", "", "fr")])
    settings = dataclasses.replace(Settings(), domain="lists.example.org",
                                   posting=PostingSettings(owners=("boss@ccrweb.ca",)))
    await Expander(posts, settings, lambda: None).expand_pending()
    await QueueStore(conn).record(
        [Outcome(1, r, "failed", "550 no") for r in
         ("a@example.org", "b@example.org", "c@example.org", "coordonnatrice@ccrweb.ca")],
        now=0.0)
    assert await OwnerNotifier(conn, settings, lambda: None).summarise_failures() == 1
    found = await summaries(conn)
    assert sorted(to for to, _ in found) == ["coordinator@ccrweb.ca",
                                             "coordonnatrice@ccrweb.ca"]
    by_owner = dict(found)
    assert "not delivered" in by_owner["coordinator@ccrweb.ca"]
    assert "non remises" in by_owner["coordonnatrice@ccrweb.ca"]


@pytest.mark.parametrize("bounce", [False, True], ids=["one-statement", "transaction"])
async def test_recorded_outcomes_are_stored_row_by_row(conn: Connection, bounce: bool) -> None:
    """Outcomes without a bounce go in one statement, with one in a transaction: the
    rows come out the same either way."""
    queue = QueueStore(conn)
    people = ["a@example.org", "b@example.org", "c@example.org"]
    done = await queue.enqueue(list_name="ccrlist", source="post", source_ref="r1",
                               sender="s@example.org", body=b"x", now=10.0,
                               recipients=[Recipient(p) for p in people])
    i = done.outgoing_id
    await queue.record([Outcome(i, people[0], "sent", "250 ok"),
                        Outcome(i, people[1], "deferred", "451 later", next_try_at=99.0),
                        Outcome(i, people[2], "failed", "550 gone", bounce=bounce)], 20.0)
    await queue.record([Outcome(i, people[1], "sent", "250 ok")], 30.0)
    rows = await conn.execute_fetchall(
        "SELECT recipient, status, last_reply, next_try_at, attempts, updated_at "
        "FROM deliveries ORDER BY recipient")
    assert [tuple(r) for r in rows] == [
        ("a@example.org", "sent", "250 ok", 0.0, 1, 20.0),
        ("b@example.org", "sent", "250 ok", 0.0, 2, 30.0),
        ("c@example.org", "failed", "550 gone", 0.0, 1, 20.0)]
    bounces = await conn.execute_fetchall("SELECT address_key, kind FROM bounces")
    assert [tuple(r) for r in bounces] == ([("c@example.org", "hard")] if bounce else [])
