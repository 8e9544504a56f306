"""Delivery modes in the store on a real SQLite file: migration 009, the one definition of
who receives (a pause that has ended is over with nothing having to run), expansion into
copies or held posts, and a digest committed all or nothing."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from digestkit import DAILY, EACH, WEEKLY, Posting, members, queued

from ccrlist.config.settings import Settings
from subscribers.db import Connection, migrations, open_database, schema_version
from subscribers.digests import DigestConflict, DigestStore
from subscribers.members import MemberStore
from subscribers.models import Delivery
from subscribers.post_models import DigestMessage, DigestRun, Recipient

HOUR = 3600.0


@pytest.fixture
async def conn(settings: Settings) -> AsyncIterator[Connection]:
    c = await open_database(settings.database_path)
    yield c
    await c.close()


def test_migration_009_keeps_every_membership_and_its_meaning(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as db:  # a database as migration 007 left it
        for version, sql in migrations():
            if version <= 7:
                db.executescript(sql)
        db.execute("PRAGMA user_version = 7")
        for i, mode in enumerate(("each", "digest", "nomail")):
            db.execute("INSERT INTO people (address, address_key, name, lang, created_at, "
                       "updated_at) VALUES (?, ?, '', 'en', 0, 0)", (f"{mode}@x.org",) * 2)
            db.execute("INSERT INTO memberships (list_name, person_id, status, delivery_mode, "
                       "token) VALUES ('ccrlist', ?, 'active', ?, ?)", (i + 1, mode, f"t{i}"))

    async def migrate() -> list[tuple[object, ...]]:
        conn = await open_database(path)
        try:
            assert await schema_version(conn) >= 9
            store = MemberStore(conn)
            assert [m.address for m in await store.receivers("ccrlist")] == [
                "digest@x.org", "each@x.org"]
            return [(m.address, m.delivery_mode, m.paused_until, m.digest_format)
                    for m in await store.members("ccrlist")]
        finally:
            await conn.close()

    assert asyncio.run(migrate()) == [("digest@x.org", "daily", None, "mime"),
                                      ("each@x.org", "each", None, "mime"),
                                      ("nomail@x.org", "nomail", None, "mime")]
    with sqlite3.connect(path) as db, pytest.raises(sqlite3.IntegrityError, match="CHECK"):
        db.execute("UPDATE memberships SET delivery_mode = 'digest'")


async def test_receivers_is_the_one_definition_and_a_pause_ends_by_itself(
        conn: Connection, settings: Settings) -> None:
    now = time.time()
    await members(conn, {"each@x.org": EACH, "daily@x.org": DAILY,
                         "paused@x.org": Delivery("nomail", now + HOUR, "weekly"),
                         "forever@x.org": Delivery("nomail", None, "daily"),
                         "ended@x.org": Delivery("nomail", now - 1, "weekly")})
    store = MemberStore(conn)
    assert {m.address: m.delivery_mode for m in await store.receivers("ccrlist")} == {
        "each@x.org": "each", "daily@x.org": "daily", "ended@x.org": "weekly"}
    shown = {m.address: (m.delivery_mode, m.paused_until, m.resume_mode)
             for m in await store.members("ccrlist")}
    assert shown["paused@x.org"] == ("nomail", now + HOUR, "weekly")
    assert shown["forever@x.org"] == ("nomail", None, "daily")
    assert shown["ended@x.org"] == ("weekly", None, "weekly")  # over, as far as anyone sees
    # Nothing rewrote the row: the view alone says the pause is over.
    [(stored,)] = await conn.execute_fetchall(
        "SELECT delivery_mode FROM memberships m JOIN people p ON p.id = m.person_id "
        "WHERE p.address = 'ended@x.org'")
    assert stored == "nomail"


async def test_expansion_sends_copies_to_each_and_holds_posts_for_digests(
        conn: Connection, settings: Settings) -> None:
    now = time.time()
    await members(conn, {"each@x.org": EACH, "daily@x.org": DAILY, "weekly@x.org": WEEKLY,
                         "paused@x.org": Delivery("nomail", now + HOUR, "each"),
                         "ended@x.org": Delivery("nomail", now - 1, "each"),
                         "ended-daily@x.org": Delivery("nomail", now - 1, "daily")})
    posting = Posting(conn, settings)
    await posting.send(1)
    singles, _ = await queued(conn)
    assert sorted(singles) == ["each@x.org", "ended@x.org"]
    held = await conn.execute_fetchall(
        "SELECT p.address FROM digest_items i JOIN people p ON p.id = i.person_id "
        "ORDER BY p.address")
    assert [r[0] for r in held] == ["daily@x.org", "ended-daily@x.org", "weekly@x.org"]
    [(size,)] = await conn.execute_fetchall("SELECT DISTINCT size FROM digest_items")
    [(raw,)] = await conn.execute_fetchall("SELECT length(raw) FROM posts")
    assert size == raw


async def test_expanding_again_after_a_crash_adds_nothing(conn: Connection,
                                                          settings: Settings) -> None:
    await members(conn, {"each@x.org": EACH, "daily@x.org": DAILY})
    await Posting(conn, settings).send(1)
    # As if killed before `expanded` was set: expanding again must add nobody twice.
    await conn.execute("UPDATE posts SET expanded = 0")
    await conn.commit()
    await Posting(conn, settings).send(0)
    [(deliveries,)] = await conn.execute_fetchall("SELECT count(*) FROM deliveries")
    [(items,)] = await conn.execute_fetchall("SELECT count(*) FROM digest_items")
    assert (deliveries, items) == (1, 1)


def run_for(person_ids: tuple[int, ...], post_ids: tuple[int, ...], number: int = 1,
            ref: str = "g1") -> DigestRun:
    message = DigestMessage(f"ccrlist/1/{number}/{ref}", "ccrlist-bounces@x.org", b"body",
                            b"CCR-TOKEN-x", tuple(Recipient(f"{p}@x.org", f"t{p}")
                                                  for p in person_ids),
                            person_ids, post_ids)
    return DigestRun("ccrlist", 1, number, 1000.0, (message,), (("daily", 900.0),))


async def test_a_digest_is_committed_all_or_nothing(conn: Connection,
                                                    settings: Settings) -> None:
    await members(conn, {"a@x.org": DAILY, "b@x.org": DAILY})
    await Posting(conn, settings).send(2)
    store = DigestStore(conn)
    [a, b] = await store.waiting("ccrlist")
    assert a.post_ids == b.post_ids == (1, 2) and a.receiving
    # A run that claims a post the member does not have held writes nothing at all.
    with pytest.raises(DigestConflict):
        await store.commit(run_for((a.person_id,), (1, 2, 3)))
    assert await conn.execute_fetchall("SELECT * FROM outgoing WHERE source = 'digest'") == []
    assert await conn.execute_fetchall("SELECT * FROM digests") == []
    assert await store.served("ccrlist") == {}
    assert await store.commit(run_for((a.person_id, b.person_id), (1, 2))) is not None
    assert await store.waiting("ccrlist") == []
    assert await conn.execute_fetchall("SELECT * FROM digest_items") == []
    assert await store.served("ccrlist") == {"daily": 900.0}
    # The same posts again, under the next number: already sent, so refused.
    with pytest.raises(DigestConflict):
        await store.commit(run_for((a.person_id,), (1,), number=2))
    # The same number again: taken.
    with pytest.raises(DigestConflict):
        await store.commit(run_for((), (), number=1, ref="g2"))
    [(n,)] = await conn.execute_fetchall("SELECT count(*) FROM deliveries")
    assert n == 2
    assert await store.last_issue("ccrlist") == (1, 1, 1000.0)


async def test_a_post_not_yet_marked_expanded_is_not_taken(conn: Connection,
                                                           settings: Settings) -> None:
    """Held but not yet marked expanded (a kill between the two): expanding again would
    hold it again, so no digest may take it before the mark."""
    await members(conn, {"a@x.org": DAILY})
    await Posting(conn, settings).send(2)
    await conn.execute("UPDATE posts SET expanded = 0 WHERE id = 2")
    await conn.commit()
    [a] = await DigestStore(conn).waiting("ccrlist")
    assert a.post_ids == (1,)
