"""The post store on a real SQLite file: group commit, idempotent expansion, owner notices."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from ccrlist_helpers import message

from ccrlist.config.settings import PostingSettings, Settings
from ccrlist.copies.expander import Expander
from subscribers.db import Connection, open_database
from subscribers.members import MemberStore
from subscribers.models import NewMember
from subscribers.owners import OwnerStore
from subscribers.posts import ListCopy, NewPost, PostStore, StoredPost, permalink_for
from subscribers.queue import Outcome, QueueStore, Recipient


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


async def test_owner_told_once_about_given_up_deliveries(conn: Connection) -> None:
    posts = PostStore(conn)
    await posts.store_batch([new_post("<1@x>")])
    settings = dataclasses.replace(Settings(), domain="lists.example.org",
                                   posting=PostingSettings(owners=("boss@ccrweb.ca",)))
    expander = Expander(posts, settings, lambda: None)
    await expander.expand_pending()
    queue = QueueStore(conn)
    await queue.record([
        Outcome(1, "a@example.org", "failed", "0 relay unavailable: timed out"),
        Outcome(1, "b@example.org", "failed", "550 5.1.1 no such user", bounce=True),
        Outcome(1, "c@example.org", "sent", "250 ok"),
    ], now=0.0)
    assert await expander.report_failures() == 1
    assert await expander.report_failures() == 0
    notices = list(await conn.execute_fetchall(
        "SELECT o.body, d.recipient FROM outgoing o JOIN deliveries d ON d.outgoing_id = o.id "
        "WHERE o.source = 'notice'"))
    assert [n[1] for n in notices] == ["boss@ccrweb.ca"]
    text = bytes(notices[0][0]).decode()
    assert "a@example.org" in text and "b@example.org" not in text


async def test_failure_notice_goes_to_the_lists_owners_before_the_setting(
        conn: Connection) -> None:
    posts = PostStore(conn)
    await posts.store_batch([new_post("<1@x>")])
    owners = OwnerStore(conn)
    await owners.add("ccrlist", "coordinator@ccrweb.ca")
    settings = dataclasses.replace(Settings(), domain="lists.example.org",
                                   posting=PostingSettings(owners=("boss@ccrweb.ca",)))
    expander = Expander(posts, settings, lambda: None, owners=owners)
    await expander.expand_pending()
    await QueueStore(conn).record(
        [Outcome(1, "a@example.org", "failed", "0 relay unavailable: timed out")], now=0.0)
    assert await expander.report_failures() == 1
    notices = await conn.execute_fetchall(
        "SELECT d.recipient FROM outgoing o JOIN deliveries d ON d.outgoing_id = o.id "
        "WHERE o.source = 'notice'")
    assert [n[0] for n in notices] == ["coordinator@ccrweb.ca"]


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
