"""Queries for digests: the posts held for each digest member (written by post expansion),
the schedule served so far, issue numbers, and the one transaction that turns held posts
into queued digests.

A post held for a member goes into exactly one digest: `commit` queues the digests and
deletes the posts they hold from what is held, in one transaction, and refuses
(`DigestConflict`) when any of those was taken meanwhile, so two runs (a server and an
operator's command) can never both send one.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence

from subscribers.db import Connection, IntegrityError, transaction
from subscribers.members import RECEIVERS
from subscribers.models import Timestamp
from subscribers.post_models import DigestMember, DigestRun, StoredPost
from subscribers.posts import POST_COLUMNS, post_from_row
from subscribers.queue import QueueStore


class DigestConflict(Exception):
    """Another run sent some of these held posts, or took this issue number, meanwhile."""


class DigestStore:
    """Digest items, issues and the schedule over one open connection."""

    def __init__(self, conn: Connection, write_lock: asyncio.Lock | None = None) -> None:
        self._conn = conn
        self._lock = write_lock or asyncio.Lock()

    async def list_names(self) -> list[str]:
        return [str(r[0]) for r in
                await self._conn.execute_fetchall("SELECT name FROM lists ORDER BY name")]

    async def waiting(self, list_name: str) -> list[DigestMember]:
        """Members with posts held for them, as they receive now (`receivers`); those who
        receive nothing now (paused) come with `receiving` False.

        Only posts marked expanded count (see the table's comment in migration 009).
        """
        held = await self._conn.execute_fetchall(
            """SELECT i.person_id, p.address, p.lang, group_concat(i.post_id), sum(i.size)
                 FROM digest_items i JOIN people p ON p.id = i.person_id
                WHERE i.list_name = ?
                  AND i.post_id IN (SELECT id FROM posts WHERE expanded = 1)
                GROUP BY i.person_id ORDER BY i.person_id""", (list_name,))
        # Read apart and joined here: SQLite would evaluate the view once per member.
        now = {int(r[0]): r for r in await self._conn.execute_fetchall(
            f"""SELECT person_id, address, token, lang, delivery_mode, digest_format
                  FROM {RECEIVERS} WHERE list_name = ?""", (list_name,))}
        found = []
        for person, address, lang, posts, size in held:
            ids = tuple(sorted(int(i) for i in str(posts).split(",")))
            receiver = now.get(int(person))
            if receiver is None:
                found.append(DigestMember(int(person), address, "", lang, "nomail", "mime",
                                          ids, int(size), receiving=False))
            else:
                found.append(DigestMember(int(person), receiver[1], receiver[2], receiver[3],
                                          receiver[4], receiver[5], ids, int(size)))
        return found

    async def drop_departed(self, list_name: str) -> int:
        """Forget posts held for people who are no longer active members; returns how many.
        (A pause keeps them: they go with the first digest after it.)"""
        departed = """list_name = ?1
                      AND person_id NOT IN (SELECT person_id FROM memberships
                                             WHERE list_name = ?1 AND status = 'active')"""
        # Read first: this runs on every pass, and a write would take the write turn.
        if not await self._conn.execute_fetchall(
                f"SELECT 1 FROM digest_items WHERE {departed} LIMIT 1", (list_name,)):
            return 0
        async with transaction(self._conn, self._lock):
            cur = await self._conn.execute(f"DELETE FROM digest_items WHERE {departed}",
                                           (list_name,))
            return cur.rowcount

    async def posts(self, ids: Sequence[int]) -> dict[int, StoredPost]:
        rows = await self._conn.execute_fetchall(
            f"SELECT {POST_COLUMNS} FROM posts WHERE id IN (SELECT value FROM json_each(?))",
            (json.dumps(list(ids)),))
        return {post.id: post for post in map(post_from_row, rows)}

    async def served(self, list_name: str) -> dict[str, Timestamp]:
        """The latest scheduled time served, by period ('daily', 'weekly')."""
        rows = await self._conn.execute_fetchall(
            "SELECT period, served_at FROM digest_schedule WHERE list_name = ?", (list_name,))
        return {str(r[0]): float(r[1]) for r in rows}

    async def last_issue(self, list_name: str) -> tuple[int, int, Timestamp] | None:
        """The volume, number and time of the list's latest digest, if it has one."""
        rows = list(await self._conn.execute_fetchall(
            """SELECT volume, number, created_at FROM digests WHERE list_name = ?
                ORDER BY volume DESC, number DESC LIMIT 1""", (list_name,)))
        return (int(rows[0][0]), int(rows[0][1]), float(rows[0][2])) if rows else None

    async def commit(self, run: DigestRun) -> int | None:
        """Queue every digest of `run`, take its posts from what is held and move the
        schedule on, all or nothing; returns the digest's id (None when `run` sends
        nothing).

        Raises `DigestConflict` when another run got there first: nothing is written then,
        and a later run starts again from what is still held.
        """
        async with transaction(self._conn, self._lock):
            await self._conn.executemany(
                """INSERT INTO digest_schedule (list_name, period, served_at) VALUES (?, ?, ?)
                   ON CONFLICT (list_name, period) DO UPDATE SET
                     served_at = max(served_at, excluded.served_at)""",
                [(run.list_name, period, at) for period, at in run.served])
            if not run.messages:
                return None
            try:
                cur = await self._conn.execute(
                    """INSERT INTO digests (list_name, volume, number, created_at)
                       VALUES (?, ?, ?, ?)""", (run.list_name, run.volume, run.number, run.at))
            except IntegrityError:
                raise DigestConflict(f"{run.list_name}: issue {run.volume}/{run.number} "
                                     "was taken meanwhile") from None
            digest_id = int(cur.lastrowid or 0)
            queue = QueueStore(self._conn)
            for message in run.messages:
                await queue.enqueue_in_transaction(
                    list_name=run.list_name, source="digest", source_ref=message.source_ref,
                    sender=message.sender, body=message.body, recipients=message.recipients,
                    personalised=True, verp=True, now=run.at, token_slot=message.token_slot)
                cur = await self._conn.execute(
                    """DELETE FROM digest_items
                        WHERE list_name = ? AND person_id IN (SELECT value FROM json_each(?))
                          AND post_id IN (SELECT value FROM json_each(?))""",
                    (run.list_name, json.dumps(message.person_ids),
                     json.dumps(message.post_ids)))
                if cur.rowcount != len(message.person_ids) * len(message.post_ids):
                    raise DigestConflict(f"{run.list_name}: held posts were sent meanwhile")
            return digest_id
