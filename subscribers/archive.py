"""Queries that fill the list archive from posts (or an import) and take a post out of it
for good; `archive_reads.py` reads it.

Writes come in batches, each in one transaction: the posts' archive rows, their
search rows, the threads and month counts they change, and how far the indexer has read.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from subscribers.archive_models import (
    ARCHIVE_LEFT_OUT,
    ARCHIVE_REMOVED,
    ArchiveEntry,
    KnownMessage,
    ThreadingFacts,
)
from subscribers.db import Connection, transaction
from subscribers.models import Timestamp
from subscribers.post_models import NewPost, StoredPost, permalink_for
from subscribers.posts import POST_COLUMNS, post_from_row

CHUNK = 500  # values per IN (...) list, well under SQLite's limit
KEY_SCALE = 1_000_000  # archive.search_key = seconds * KEY_SCALE + post id % KEY_SCALE
BULK_CACHE_KIB = 256 * 1024

THREAD_COLUMNS = "id, subject, author_name, author, started, last, posts"


@functools.lru_cache(maxsize=4096)
def month_of(at: Timestamp) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m")


def search_key(at: Timestamp) -> int:
    """The smallest search key of a moment: keys sort as dates do."""
    return int(at) * KEY_SCALE


def _chunks(items: Sequence[str]) -> list[Sequence[str]]:
    return [items[i:i + CHUNK] for i in range(0, len(items), CHUNK)]


@dataclass(frozen=True)
class Pending:
    """Posts for the indexer, where its mark moves to once they are archived (None: it
    stays), and the queued post ids this batch answers for."""

    posts: list[StoredPost]
    mark: int | None
    queued: list[int]

    @property
    def empty(self) -> bool:
        return not self.posts and self.mark is None and not self.queued


@dataclass(frozen=True)
class Removal:
    """What `remove` did: the post, and whether its list copy is still queued for someone."""

    post_id: int
    permalink: str
    was_archived: bool
    copies_pending: int


class ArchiveStore:
    """The archive's tables over one open connection."""

    def __init__(self, conn: Connection, write_lock: asyncio.Lock | None = None) -> None:
        self._conn = conn
        self._lock = write_lock or asyncio.Lock()

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[None]:
        """One write transaction: threading facts read inside it cannot change under it."""
        async with transaction(self._conn, self._lock):
            yield

    # Filling the archive.

    async def for_bulk(self) -> None:
        """A bigger page cache for this connection, for an import of many posts: its
        indexes then stay in memory instead of being read back for every batch."""
        await self._conn.execute(f"PRAGMA cache_size = -{BULK_CACHE_KIB}")

    async def pending(self, limit: int = 200) -> Pending:
        """What the indexer has to read: the next `limit` posts above its mark that are
        accepted and not in the archive (held, rejected, discarded and imported ones are
        passed over: the mark moves past them), then approved ones from the queue."""
        [(mark,)] = await self._conn.execute_fetchall(
            "SELECT last_post_id FROM archive_progress WHERE id = 1")
        # One read of each row: its columns come after `raw`, so reading them reads it.
        rows = list(await self._conn.execute_fetchall(
            f"""SELECT {POST_COLUMNS}, status = 'accepted' AND archived = 0
                       AND NOT EXISTS (SELECT 1 FROM archive a WHERE a.post_id = posts.id)
                  FROM posts WHERE id > ? ORDER BY id LIMIT ?""", (mark, limit)))
        posts = [post_from_row(row) for row in rows if row[-1]]
        queued = [int(r[0]) for r in await self._conn.execute_fetchall(
            "SELECT post_id FROM archive_queue ORDER BY post_id LIMIT ?", (limit,))]
        if queued:
            posts += [post_from_row(row) for row in await self._conn.execute_fetchall(
                f"""SELECT {POST_COLUMNS} FROM posts
                     WHERE id IN ({",".join("?" * len(queued))}) AND status = 'accepted'
                       AND archived = 0
                       AND NOT EXISTS (SELECT 1 FROM archive a WHERE a.post_id = posts.id)""",
                queued)]
        return Pending(posts, int(rows[-1][0]) if rows else None, queued)

    async def done(self, pending: Pending, left_out: Sequence[int]) -> None:
        """After a batch is archived (call inside `writing`): move the mark past it, empty
        its part of the queue, and record the posts it left out."""
        if pending.mark is not None:
            await self._conn.execute(
                "UPDATE archive_progress SET last_post_id = max(last_post_id, ?) WHERE id = 1",
                (pending.mark,))
        await self._conn.executemany("DELETE FROM archive_queue WHERE post_id = ?",
                                     [(i,) for i in pending.queued])
        await self.mark(left_out, ARCHIVE_LEFT_OUT)

    async def threading_facts(self, list_name: str,
                              entries: Sequence[ArchiveEntry]) -> ThreadingFacts:
        """The archived posts a batch names, the thread roots waiting for one of its posts,
        and the latest thread of each of its subjects (call inside `writing`)."""
        refs = sorted({r for e in entries for r in e.references})
        ids = sorted({e.message_id for e in entries})
        subjects = sorted({e.base_subject for e in entries if e.is_reply and e.base_subject})
        known: dict[str, KnownMessage] = {}
        orphans: dict[str, list[KnownMessage]] = {}
        by_subject: dict[str, tuple[int, float]] = {}
        for chunk in _chunks(refs):
            for row in await self._conn.execute_fetchall(
                    f"SELECT message_id, post_id, thread_id FROM archive WHERE list_name = ? "
                    f"AND message_id IN ({','.join('?' * len(chunk))})", (list_name, *chunk)):
                known.setdefault(row[0], KnownMessage(int(row[1]), int(row[2])))
        for chunk in _chunks(ids):
            for row in await self._conn.execute_fetchall(
                    f"SELECT in_reply_to, post_id, thread_id FROM archive WHERE list_name = ? "
                    f"AND in_reply_to IN ({','.join('?' * len(chunk))}) "
                    "AND parent_id IS NULL", (list_name, *chunk)):
                orphans.setdefault(row[0], []).append(KnownMessage(int(row[1]), int(row[2])))
        for chunk in _chunks(subjects):
            for row in await self._conn.execute_fetchall(
                    f"SELECT base_subject, id, max(last) FROM archive_threads "
                    f"WHERE list_name = ? AND base_subject IN ({','.join('?' * len(chunk))}) "
                    "GROUP BY base_subject", (list_name, *chunk)):
                by_subject[row[0]] = (int(row[1]), float(row[2]))
        return ThreadingFacts(known, orphans, by_subject)

    async def add(self, list_name: str, entries: Sequence[tuple[int, ArchiveEntry]],
                  parents: Sequence[int | None], threads: Sequence[int],
                  merges: dict[int, int], adopted: dict[int, int]) -> None:
        """Write a threaded batch (call inside `writing`): its rows, its search rows, the
        threads it joins or merges, and its months."""
        conn = self._conn
        keys = await self._search_keys(entries)
        await conn.executemany(
            """INSERT INTO archive (post_id, list_name, message_id, in_reply_to, parent_id,
                                    thread_id, date, month, subject, base_subject,
                                    author_name, author, body_kind, body, attachments,
                                    search_key)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            [(post_id, list_name, e.message_id, e.references[-1] if e.references else "",
              parent, thread, e.date, month_of(e.date), e.subject, e.base_subject,
              e.author_name, e.author, e.body_kind, e.body,
              json.dumps([[a.part, a.filename, a.content_type, a.size]
                          for a in e.attachments]), key)
             for (post_id, e), parent, thread, key in zip(entries, parents, threads, keys,
                                                          strict=True)])
        await conn.executemany(
            "INSERT INTO archive_search (rowid, subject, author, body) VALUES (?, ?, ?, ?)",
            [(key, e.subject, f"{e.author_name} {e.author}", e.search_text)
             for (_, e), key in zip(entries, keys, strict=True)])
        for old, new in merges.items():
            await conn.execute("UPDATE archive SET thread_id = ? WHERE thread_id = ?",
                               (new, old))
            await conn.execute("DELETE FROM archive_threads WHERE id = ?", (old,))
        await conn.executemany("UPDATE archive SET parent_id = ? WHERE post_id = ?",
                               [(parent, child) for child, parent in adopted.items()])
        months: dict[str, int] = {}
        for _, e in entries:
            months[month_of(e.date)] = months.get(month_of(e.date), 0) + 1
        await conn.executemany(
            """INSERT INTO archive_months (list_name, month, posts) VALUES (?, ?, ?)
               ON CONFLICT (list_name, month) DO UPDATE SET posts = posts + excluded.posts""",
            [(list_name, month, n) for month, n in months.items()])
        await self._refresh_threads(sorted(set(threads) | set(merges.values())))

    async def _search_keys(self, entries: Sequence[tuple[int, ArchiveEntry]]) -> list[int]:
        """A unique search key for each entry, in date order (see the migration)."""
        wanted = [search_key(e.date) + post_id % KEY_SCALE for post_id, e in entries]
        taken: set[int] = set()
        for chunk in [wanted[i:i + CHUNK] for i in range(0, len(wanted), CHUNK)]:
            taken.update(int(r[0]) for r in await self._conn.execute_fetchall(
                f"SELECT search_key FROM archive WHERE search_key IN "
                f"({','.join('?' * len(chunk))})", chunk))
        checked = set(wanted)  # those in the archive already are in `taken`
        keys: list[int] = []
        for key in wanted:
            # Two posts of one second, a million ids apart: the next free key.
            while key in taken or (key not in checked and await self._key_used(key)):
                key += 1
            taken.add(key)
            keys.append(key)
        return keys

    async def _key_used(self, key: int) -> bool:
        return bool(list(await self._conn.execute_fetchall(
            "SELECT 1 FROM archive WHERE search_key = ?", (key,))))

    async def _refresh_threads(self, thread_ids: Sequence[int]) -> None:
        """Recount threads from their posts; a thread left with none goes."""
        for chunk in [thread_ids[i:i + CHUNK] for i in range(0, len(thread_ids), CHUNK)]:
            marks = ",".join("?" * len(chunk))
            await self._conn.execute(
                f"""INSERT OR REPLACE INTO archive_threads ({THREAD_COLUMNS}, list_name,
                                                            base_subject)
                    SELECT t.thread_id, f.subject, f.author_name, f.author, t.started, t.last,
                           t.posts, f.list_name, f.base_subject
                      FROM (SELECT thread_id, min(date) AS started, max(date) AS last,
                                   count(*) AS posts FROM archive
                             WHERE thread_id IN ({marks}) GROUP BY thread_id) t
                      JOIN archive f ON f.post_id = (SELECT post_id FROM archive
                                                      WHERE thread_id = t.thread_id
                                                      ORDER BY date, post_id LIMIT 1)""",
                chunk)
            await self._conn.execute(
                f"DELETE FROM archive_threads WHERE id IN ({marks}) AND NOT EXISTS "
                "(SELECT 1 FROM archive WHERE thread_id = archive_threads.id)", chunk)

    async def mark(self, post_ids: Sequence[int], state: int) -> None:
        """Set `posts.archived` (ARCHIVE_LEFT_OUT, ARCHIVE_REMOVED) of these posts."""
        await self._conn.executemany("UPDATE posts SET archived = ? WHERE id = ?",
                                     [(state, i) for i in post_ids])

    async def insert_imported(self, posts: Sequence[tuple[NewPost, Timestamp]]) -> list[int | None]:
        """Store imported posts, dated and never sent (call inside `writing`, and archive
        them in the same transaction: the indexer then passes them over); the new post's
        id for each, None for a Message-ID the list already has (or a repeat)."""
        if not posts:
            return []
        [(newest, mark)] = await self._conn.execute_fetchall(
            "SELECT (SELECT max(id) FROM posts), last_post_id FROM archive_progress")
        links = [permalink_for(p.list_name, p.message_id) for p, _ in posts]
        values = ",".join(["(?, ?, ?, ?, ?, ?, ?, 'accepted', ?, ?, 1)"] * len(posts))
        rows = await self._conn.execute_fetchall(
            f"""INSERT INTO posts (list_name, message_id, permalink, author, subject,
                                   envelope_from, raw, status, reason, received_at, expanded)
                VALUES {values} ON CONFLICT DO NOTHING RETURNING permalink, id""",
            [v for (p, at), link in zip(posts, links, strict=True)
             for v in (p.list_name, p.message_id, link, p.author, p.subject,
                       p.envelope_from, p.raw, p.reason, at)])
        inserted = {str(r[0]): int(r[1]) for r in rows}
        if inserted and (newest or 0) == mark:
            # The indexer had read every post: it need not read these (archived here).
            await self._conn.execute("UPDATE archive_progress SET last_post_id = ?",
                                     (max(inserted.values()),))
        return [inserted.pop(link, None) for link in links]

    # Taking a post out.

    async def remove(self, permalink: str) -> Removal | None:
        """Take a post out of the archive, search and its thread for good, and forget its
        text: the stored bytes and, once delivered, its list copy. Repeating it is harmless;
        None for a permalink that names no post."""
        async with self.writing():
            rows = list(await self._conn.execute_fetchall(
                "SELECT p.id, a.thread_id, a.month, a.list_name, a.search_key "
                "FROM posts p LEFT JOIN archive a ON a.post_id = p.id WHERE p.permalink = ?",
                (permalink,)))
            if not rows:
                return None
            post_id, thread_id, month, list_name, key = rows[0]
            if thread_id is not None:
                await self._conn.execute("DELETE FROM archive WHERE post_id = ?", (post_id,))
                await self._conn.execute("DELETE FROM archive_search WHERE rowid = ?", (key,))
                await self._conn.execute(
                    "UPDATE archive SET parent_id = NULL WHERE parent_id = ?", (post_id,))
                await self._conn.execute(
                    "UPDATE archive_months SET posts = posts - 1 WHERE list_name = ? "
                    "AND month = ?", (list_name, month))
                await self._refresh_threads([int(thread_id)])
            await self._conn.execute(
                "UPDATE posts SET archived = ?, raw = x'', subject = '' WHERE id = ?",
                (ARCHIVE_REMOVED, post_id))
            pending = list(await self._conn.execute_fetchall(
                """SELECT count(*) FROM deliveries d JOIN outgoing o ON o.id = d.outgoing_id
                    WHERE o.source = 'post' AND o.source_ref = ?
                      AND d.status IN ('pending', 'deferred')""", (permalink,)))
            waiting = int(pending[0][0])
            if not waiting:
                await self._conn.execute(
                    "UPDATE outgoing SET body = x'' WHERE source = 'post' AND source_ref = ?",
                    (permalink,))
        return Removal(int(post_id), permalink, thread_id is not None, waiting)
