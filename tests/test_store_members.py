"""The subscriber store on a real SQLite file: pragmas, migrations, lists and members."""

from __future__ import annotations

import secrets
import sqlite3
from pathlib import Path

import pytest

from subscribers.db import migrations, open_database, schema_version
from subscribers.members import Existing, MemberStore, StoreError, classify, new_tokens
from subscribers.models import Delivery, DeliveryChoice, ImportReport, NewMember, is_token


async def test_open_sets_pragmas_and_migrates(tmp_path: Path) -> None:
    conn = await open_database(tmp_path / "db" / "ccr.sqlite3")
    try:
        async with conn.execute("PRAGMA journal_mode") as cur:
            assert (await cur.fetchone())[0] == "wal"  # type: ignore[index]
        async with conn.execute("PRAGMA foreign_keys") as cur:
            assert (await cur.fetchone())[0] == 1  # type: ignore[index]
        async with conn.execute("PRAGMA synchronous") as cur:
            assert (await cur.fetchone())[0] == 2  # type: ignore[index]  # FULL
        assert await schema_version(conn) == migrations()[-1][0]
    finally:
        await conn.close()


async def test_reopening_does_not_migrate_twice(tmp_path: Path) -> None:
    path = tmp_path / "ccr.sqlite3"
    for _ in range(2):
        conn = await open_database(path)
        lists = await MemberStore(conn).lists()
        await conn.close()
    assert [lst.name for lst in lists] == ["ccrlist", "echronicle"]


async def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ccr.sqlite3"
    conn = await open_database(path)
    await conn.execute("PRAGMA user_version = 999")
    await conn.close()
    with pytest.raises(RuntimeError, match="newer than this software"):
        await open_database(path)


async def test_iso_text_times_become_epoch_seconds(tmp_path: Path) -> None:
    """Migration 006: a database made before it keeps every time, now as REAL seconds."""
    path = tmp_path / "old.sqlite3"
    old = sqlite3.connect(path)
    for version, sql in migrations():
        if version > 5:
            break
        old.executescript(sql)
    old.executescript("""
        PRAGMA user_version = 5;
        INSERT INTO people (address, address_key, created_at, updated_at)
            VALUES ('jo@example.org', 'jo@example.org', '2026-11-24T10:00:00Z',
                    '2026-11-25T10:00:00Z');
        INSERT INTO memberships (list_name, person_id, status, token, joined_at, left_at)
            VALUES ('ccrlist', 1, 'unsubscribed', 't', '2026-11-24T10:00:00Z',
                    '2026-11-26T00:00:00Z');
        INSERT INTO posts (list_name, message_id, permalink, author, raw, status, received_at)
            VALUES ('ccrlist', '<1@x>', 'ccrlist/abc', 'jo@example.org', x'00', 'accepted',
                    '2026-11-24T10:00:01Z');
        INSERT INTO outgoing (list_name, source, source_ref, sender, body, created_at)
            VALUES ('ccrlist', 'post', 'ccrlist/abc', 's@x', x'00', '2026-11-24T10:00:02Z');
        INSERT INTO list_owners (list_name, address, address_key, added_at)
            VALUES ('ccrlist', 'o@x', 'o@x', '2026-11-24T10:00:03Z');
    """)
    old.commit()
    old.close()
    conn = await open_database(path)
    try:
        rows = await conn.execute_fetchall("""
            SELECT p.created_at, p.updated_at, m.joined_at, m.left_at, po.received_at,
                   o.created_at, lo.added_at, typeof(l.created_at)
              FROM people p, memberships m, posts po, outgoing o, list_owners lo, lists l
             WHERE l.name = 'ccrlist'""")
    finally:
        await conn.close()
    base = 1795514400.0  # 2026-11-24T10:00:00Z
    assert list(rows[0]) == [base, base + 86400, base, base + 136800, base + 1, base + 2,
                             base + 3, "real"]


@pytest.fixture
async def store(tmp_path: Path):  # type: ignore[no-untyped-def]
    conn = await open_database(tmp_path / "ccr.sqlite3")
    yield MemberStore(conn)
    await conn.close()


async def test_default_lists_and_policies(store: MemberStore) -> None:
    lists = {lst.name: lst.policy for lst in await store.lists()}
    assert lists == {"ccrlist": "subscribers", "echronicle": "announce"}


async def test_create_list(store: MemberStore) -> None:
    created = await store.create_list("ccr-youth", "subscribers", "Youth network")
    assert created.name == "ccr-youth"
    assert (await store.get_list("ccr-youth")) is not None
    with pytest.raises(StoreError, match="already exists"):
        await store.create_list("ccr-youth", "announce")
    with pytest.raises(StoreError, match="not a valid list name"):
        await store.create_list("Bad Name", "announce")


async def test_add_is_idempotent_and_case_insensitive(store: MemberStore) -> None:
    first = await store.add("ccrlist", [NewMember("Jane@example.org", "Jane", "en")])
    assert first == ImportReport(added=1)
    again = await store.add("ccrlist", [NewMember("jane@EXAMPLE.org".replace("EXAMPLE", "example")
                                                  .replace("jane", "JANE"), "Jane", "en")])
    assert again == ImportReport(unchanged=1)
    member = await store.find_member("ccrlist", "JANE@example.org")
    assert member is not None
    assert member.status == "active"
    assert member.name == "Jane"
    assert len(member.token) >= 20


async def test_add_keeps_name_and_lang_when_not_given(store: MemberStore) -> None:
    await store.add("ccrlist", [NewMember("jane@example.org", "Jane Doe", "fr")])
    report = await store.add("ccrlist", [NewMember("jane@example.org")])
    assert report == ImportReport(unchanged=1)
    member = await store.find_member("ccrlist", "jane@example.org")
    assert member is not None
    assert (member.name, member.lang) == ("Jane Doe", "fr")


async def test_remove_then_readd(store: MemberStore) -> None:
    await store.add("ccrlist", [NewMember("jane@example.org")])
    assert await store.remove("ccrlist", "jane@example.org")
    assert not await store.remove("ccrlist", "jane@example.org")
    gone = await store.find_member("ccrlist", "jane@example.org")
    assert gone is not None
    assert gone.status == "unsubscribed"
    assert gone.left_at is not None
    report = await store.add("ccrlist", [NewMember("jane@example.org")])
    assert report == ImportReport(updated=1)
    back = await store.find_member("ccrlist", "jane@example.org")
    assert back is not None
    assert (back.status, back.left_at) == ("active", None)


async def test_membership_is_per_list(store: MemberStore) -> None:
    await store.add("ccrlist", [NewMember("jane@example.org", "Jane", "en")])
    report = await store.add("echronicle", [NewMember("jane@example.org", "Jane", "en")])
    assert report == ImportReport(added=1)
    assert [m.address for m in await store.members("echronicle", "active")] == [
        "jane@example.org"]


async def test_members_filter_by_status(store: MemberStore) -> None:
    await store.add("ccrlist", [NewMember("a@example.org"), NewMember("b@example.org")])
    await store.remove("ccrlist", "b@example.org")
    assert [m.address for m in await store.members("ccrlist", "active")] == ["a@example.org"]
    assert len(await store.members("ccrlist")) == 2


async def test_receivers_are_active_members_not_on_nomail(store: MemberStore) -> None:
    """One definition of who receives a list's mail: the newsletter and post expansion both
    read it (`receivers`), so pending, unsubscribed, disabled and nomail members get none."""
    await store.add("ccrlist", [NewMember(f"{n}@x.org") for n in
                                ("active", "gone", "off", "quiet", "later")])
    await store.remove("ccrlist", "gone@x.org")
    await store.set_status("ccrlist", "off@x.org", "disabled")
    await store.set_status("ccrlist", "later@x.org", "pending")
    await store._conn.execute("UPDATE memberships SET delivery_mode = 'nomail' WHERE person_id ="
                              " (SELECT id FROM people WHERE address_key = 'quiet@x.org')")
    await store.add("echronicle", [NewMember("reader@x.org")])
    assert [m.address for m in await store.receivers("ccrlist")] == ["active@x.org"]
    assert [m.address for m in await store.receivers("echronicle")] == ["reader@x.org"]


async def test_unknown_list_names_the_known_ones(store: MemberStore) -> None:
    with pytest.raises(StoreError, match="ccrlist, echronicle"):
        await store.add("nope", [NewMember("a@example.org")])


async def test_preview_changes_nothing(store: MemberStore) -> None:
    report = await store.preview_add("ccrlist", [NewMember("a@example.org")])
    assert report == ImportReport(added=1)
    assert await store.members("ccrlist") == []


ACTIVE = Delivery()


@pytest.mark.parametrize(
    ("existing", "rows", "expected"),
    [
        ({}, [NewMember("a@x.org")], ImportReport(added=1)),
        ({"a@x.org": ("", "en", None, None)}, [NewMember("a@x.org")], ImportReport(added=1)),
        ({"a@x.org": ("", "en", "active", ACTIVE)}, [NewMember("a@x.org")],
         ImportReport(unchanged=1)),
        ({"a@x.org": ("", "en", "active", ACTIVE)}, [NewMember("a@x.org", "A")],
         ImportReport(updated=1)),
        ({"a@x.org": ("", "en", "unsubscribed", ACTIVE)}, [NewMember("A@x.org")],
         ImportReport(updated=1)),
        ({}, [NewMember("a@x.org"), NewMember("A@X.ORG".lower())],
         ImportReport(added=1, unchanged=1)),
        # A delivery choice changes a member only when it differs from what they have.
        ({"a@x.org": ("", "en", "active", ACTIVE)},
         [NewMember("a@x.org", delivery=DeliveryChoice(mode="daily"))], ImportReport(updated=1)),
        ({"a@x.org": ("", "en", "active", Delivery("daily", None, "daily"))},
         [NewMember("a@x.org", delivery=DeliveryChoice(mode="daily"))],
         ImportReport(unchanged=1)),
        ({"a@x.org": ("", "en", "active", Delivery("nomail", None, "weekly"))},
         [NewMember("a@x.org", delivery=DeliveryChoice(pause=True))],
         ImportReport(unchanged=1)),
        ({"a@x.org": ("", "en", "active", Delivery("nomail", None, "weekly"))},
         [NewMember("a@x.org", delivery=DeliveryChoice(pause=False))],
         ImportReport(updated=1)),
    ],
)
def test_classify(existing: Existing, rows: list[NewMember], expected: ImportReport) -> None:
    assert classify(existing, rows)[0] == expected


def test_tokens_made_in_bulk_are_like_token_urlsafe() -> None:
    """An import's tokens come from one read of the random source; each must still be a
    token as `secrets.token_urlsafe(18)` makes it: 24 URL-safe characters, all distinct."""
    tokens = new_tokens(1000)
    assert len(tokens) == len(set(tokens)) == 1000
    assert all(is_token(t) and len(t) == len(secrets.token_urlsafe(18)) for t in tokens)
    assert new_tokens(0) == []
