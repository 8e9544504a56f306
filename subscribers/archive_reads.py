"""Queries that read the list archive for its pages, search, feeds and export."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence

from subscribers.archive import THREAD_COLUMNS, search_key
from subscribers.archive_models import (
    HIT_END,
    HIT_START,
    ArchivedPost,
    Attachment,
    SearchHit,
    SearchQuery,
    ThreadSummary,
)
from subscribers.db import Connection, Row
from subscribers.models import Timestamp

_POST_COLUMNS = """a.post_id, a.list_name, p.permalink, a.message_id, a.parent_id, a.thread_id,
                   a.date, a.subject, a.author_name, a.author, a.body_kind, a.body,
                   a.attachments"""


def _archived(row: Row) -> ArchivedPost:
    attachments = tuple(Attachment(int(a[0]), str(a[1]), str(a[2]), int(a[3]))
                        for a in json.loads(row[12]))
    return ArchivedPost(int(row[0]), row[1], row[2], row[3], row[4], int(row[5]),
                        float(row[6]), row[7], row[8], row[9], row[10], row[11], attachments)


def _thread(row: Row) -> ThreadSummary:
    return ThreadSummary(int(row[0]), row[1], row[2], row[3], float(row[4]), float(row[5]),
                         int(row[6]))


class ArchiveReader:
    """Reads of the archive over one open connection (no writes)."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def months(self, list_name: str) -> list[tuple[str, int]]:
        """(YYYY-MM, posts) of every month with posts, newest first."""
        rows = await self._conn.execute_fetchall(
            "SELECT month, posts FROM archive_months WHERE list_name = ? AND posts > 0 "
            "ORDER BY month DESC", (list_name,))
        return [(str(r[0]), int(r[1])) for r in rows]

    async def recent_threads(self, list_name: str, limit: int, offset: int = 0,
                             by: str = "last") -> list[ThreadSummary]:
        """Threads by latest activity (`by="last"`) or by start (`"started"`), newest first."""
        order = "started" if by == "started" else "last"
        rows = await self._conn.execute_fetchall(
            f"SELECT {THREAD_COLUMNS} FROM archive_threads WHERE list_name = ? "
            f"ORDER BY {order} DESC, id DESC LIMIT ? OFFSET ?", (list_name, limit, offset))
        return [_thread(r) for r in rows]

    async def month_threads(self, list_name: str, month: str, limit: int,
                            offset: int = 0) -> list[tuple[ThreadSummary, int]]:
        """Threads with posts in `month`, by their latest post that month, newest first;
        each with how many of its posts fall in the month."""
        rows = await self._conn.execute_fetchall(
            f"""SELECT {", ".join("t." + c for c in THREAD_COLUMNS.split(", "))}, m.n
                  FROM (SELECT thread_id, count(*) AS n, max(date) AS latest FROM archive
                         WHERE list_name = ? AND month = ? GROUP BY thread_id) m
                  JOIN archive_threads t ON t.id = m.thread_id
                 ORDER BY m.latest DESC, t.id DESC LIMIT ? OFFSET ?""",
            (list_name, month, limit, offset))
        return [(_thread(r), int(r[7])) for r in rows]

    async def thread(self, list_name: str, thread_id: int) -> tuple[ThreadSummary | None,
                                                                    list[ArchivedPost]]:
        rows = await self._conn.execute_fetchall(
            f"SELECT {THREAD_COLUMNS} FROM archive_threads WHERE id = ? AND list_name = ?",
            (thread_id, list_name))
        if not rows:
            return None, []
        posts = await self._conn.execute_fetchall(
            f"""SELECT {_POST_COLUMNS} FROM archive a JOIN posts p ON p.id = a.post_id
                 WHERE a.thread_id = ? ORDER BY a.date, a.post_id""", (thread_id,))
        return _thread(next(iter(rows))), [_archived(r) for r in posts]

    async def thread_of(self, list_name: str, post_id: int) -> int | None:
        """The thread the archived post `post_id` is in now. A thread's id is its first
        post's; when it merges into another thread (a reply archived before the post it
        answers), that post says where its thread went."""
        rows = list(await self._conn.execute_fetchall(
            "SELECT thread_id FROM archive WHERE post_id = ? AND list_name = ?",
            (post_id, list_name)))
        return int(rows[0][0]) if rows else None

    async def post(self, permalink: str) -> ArchivedPost | None:
        rows = list(await self._conn.execute_fetchall(
            f"""SELECT {_POST_COLUMNS} FROM posts p JOIN archive a ON a.post_id = p.id
                 WHERE p.permalink = ?""", (permalink,)))
        return _archived(rows[0]) if rows else None

    async def raw(self, post_id: int) -> bytes:
        rows = list(await self._conn.execute_fetchall(
            "SELECT p.raw FROM posts p JOIN archive a ON a.post_id = p.id WHERE p.id = ?",
            (post_id,)))
        return bytes(rows[0][0]) if rows else b""

    async def search(self, query: SearchQuery) -> list[SearchHit]:
        """A page of matches, newest first, the matching words marked (HIT_START/HIT_END).

        The search index is read in its rowid order, which is date order, so a page costs
        its own rows, not every match; a date range is a range of rowids.
        """
        low = search_key(query.date_from) if query.date_from is not None else 0
        high = search_key(query.date_to) if query.date_to is not None else 2 ** 62
        if query.match is None:
            sql = """SELECT a.post_id, p.permalink, a.thread_id, a.date, a.author_name,
                            a.author, a.subject, substr(s.body, 1, 200)
                       FROM archive a JOIN posts p ON p.id = a.post_id
                       JOIN archive_search s ON s.rowid = a.search_key
                      WHERE a.list_name = ? AND a.search_key >= ? AND a.search_key < ?
                      ORDER BY a.search_key DESC LIMIT ? OFFSET ?"""
            args: tuple[object, ...] = (query.list_name, low, high)
        else:
            sql = f"""SELECT a.post_id, p.permalink, a.thread_id, a.date, a.author_name,
                             a.author,
                             highlight(archive_search, 0, '{HIT_START}', '{HIT_END}'),
                             snippet(archive_search, 2, '{HIT_START}', '{HIT_END}', ' … ', 24)
                        FROM archive_search s
                       CROSS JOIN archive a ON a.search_key = s.rowid
                       CROSS JOIN posts p ON p.id = a.post_id
                       WHERE archive_search MATCH ? AND a.list_name = ?
                         AND s.rowid >= ? AND s.rowid < ?
                       ORDER BY s.rowid DESC LIMIT ? OFFSET ?"""
            args = (query.match, query.list_name, low, high)
        rows = await self._conn.execute_fetchall(sql, (*args, query.limit, query.offset))
        return [SearchHit(int(r[0]), r[1], int(r[2]), float(r[3]), r[4], r[5], r[6], r[7])
                for r in rows]

    async def first_posts(self, thread_ids: Sequence[int]) -> dict[int, ArchivedPost]:
        """The first post of each thread (for feeds)."""
        found: dict[int, ArchivedPost] = {}
        for thread_id in thread_ids:
            rows = list(await self._conn.execute_fetchall(
                f"""SELECT {_POST_COLUMNS} FROM archive a JOIN posts p ON p.id = a.post_id
                     WHERE a.thread_id = ? ORDER BY a.date, a.post_id LIMIT 1""",
                (thread_id,)))
            if rows:
                found[thread_id] = _archived(rows[0])
        return found

    async def export(self, list_name: str) -> AsyncIterator[tuple[bytes, str, Timestamp]]:
        """Every archived post of a list, oldest first: (raw, envelope sender, date)."""
        last = -1
        while True:  # in search-key order, which is date order
            rows = list(await self._conn.execute_fetchall(
                """SELECT a.date, a.search_key, p.raw, p.envelope_from, p.author
                     FROM archive a JOIN posts p ON p.id = a.post_id
                    WHERE a.search_key > ? AND a.list_name = ?
                    ORDER BY a.search_key LIMIT 500""", (last, list_name)))
            if not rows:
                return
            for row in rows:
                yield bytes(row[2]), str(row[3] or row[4]), float(row[0])
            last = int(rows[-1][1])
