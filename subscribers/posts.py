"""Queries for inbound posts: archive them, expand them into the delivery queue, moderate held ones.

A post is stored (and only then answered 250) in one transaction; expansion
into per-recipient rows is a second transaction that also marks the post
expanded, so a crash at any point neither loses nor duplicates a recipient.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import Literal

from subscribers.addresses import address_key
from subscribers.archive_models import PostSummary
from subscribers.db import Connection, Row, transaction
from subscribers.members import RECEIVERS
from subscribers.models import Timestamp, is_permalink, post_number
from subscribers.post_models import (
    ListCopy,
    NewPost,
    PostingLookup,
    PostStatus,
    StoredPost,
    permalink_for,
)

Clock = Callable[[], Timestamp]
MAX_GROUP = 500  # 11 parameters a post, well under SQLite's 32766

POST_COLUMNS = """id, list_name, message_id, permalink, author, subject, envelope_from, raw,
              status, reason, expanded, received_at, dmarc_policy"""

# What a post is judged on, in one statement (the SMTP handler's facts reader runs it too).
POSTING_FACTS = """
    SELECT (SELECT policy FROM lists WHERE name = ?1),
           (SELECT m.status FROM memberships m JOIN people p ON p.id = m.person_id
             WHERE m.list_name = ?1 AND p.address_key = ?2),
           EXISTS (SELECT 1 FROM posts WHERE permalink = ?3)
"""


def posting_facts_args(list_name: str, author: str, message_id: str) -> tuple[str, str, str]:
    return list_name, address_key(author), permalink_for(list_name, message_id)


class PostError(Exception):
    """A moderation request the store refuses (unknown post, not held)."""


def post_from_row(row: Row) -> StoredPost:
    return StoredPost(int(row[0]), row[1], row[2], row[3], row[4], row[5], row[6],
                      bytes(row[7]), row[8], row[9], bool(row[10]), float(row[11]), row[12])


class PostStore:
    """Posts and their expansion over one open connection (one writer task per connection)."""

    def __init__(self, conn: Connection, write_lock: asyncio.Lock | None = None,
                 clock: Clock = time.time) -> None:
        self._conn = conn
        # Writers of one process take turns here (see `transaction`).
        self._lock = write_lock or asyncio.Lock()
        self._clock = clock

    async def seen(self, list_name: str, message_id: str) -> bool:
        async with self._conn.execute("SELECT 1 FROM posts WHERE permalink = ?",
                                      (permalink_for(list_name, message_id),)) as cur:
            return await cur.fetchone() is not None

    async def store_batch(self, posts: Sequence[NewPost]) -> list[bool]:
        """Store posts in one transaction (group commit); True for each post not seen before.

        A single INSERT ... RETURNING in autocommit mode: one round trip to the database
        thread and one fsync for the whole group, committed before this returns.
        """
        links = [permalink_for(p.list_name, p.message_id) for p in posts]
        now = self._clock()
        fresh: list[bool] = []
        for start in range(0, len(posts), MAX_GROUP):
            chunk = posts[start:start + MAX_GROUP]
            values = ",".join(["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"] * len(chunk))
            params = [v for post, link in zip(chunk, links[start:], strict=False)
                      for v in (post.list_name, post.message_id, link, post.author,
                                post.subject, post.envelope_from, post.raw, post.status,
                                post.reason, now, post.dmarc_policy)]
            async with self._lock:
                rows = await self._conn.execute_fetchall(
                    f"""INSERT INTO posts (list_name, message_id, permalink, author, subject,
                                           envelope_from, raw, status, reason, received_at,
                                           dmarc_policy)
                        VALUES {values} ON CONFLICT DO NOTHING RETURNING permalink""", params)
            inserted = {str(r[0]) for r in rows}
            for link in links[start:start + MAX_GROUP]:
                fresh.append(link in inserted)
                inserted.discard(link)  # a repeat within the group is a duplicate
        return fresh

    async def to_expand(self, limit: int = 20) -> list[StoredPost]:
        async with self._conn.execute(
            f"SELECT {POST_COLUMNS} FROM posts WHERE expanded = 0 AND status = 'accepted' "
            "ORDER BY id LIMIT ?", (limit,)) as cur:
            return [post_from_row(row) for row in await cur.fetchall()]

    async def expand(self, items: Sequence[ListCopy], sender: Callable[[str], str],
                     now: Timestamp) -> int:
        """Queue each post's list copy for every receiver who takes each post, with the
        member's token (for personalised copies), and hold the post for the next digest of
        every receiver who takes digests; then mark the posts expanded. Returns the
        deliveries and digest items added.

        Three steps, each committed on its own, so the write turn is held for one round
        trip at a time (SMTP sessions wait for it). Atomicity across them is not needed:
        outgoing, delivery and digest rows are keyed, so after a crash in between,
        expanding again adds exactly what is missing, and `expanded` is set last. The
        deliveries and the digest items are written in one transaction, so a member who
        changes mode meanwhile gets each post in one way only.
        """
        ids = [item.post.id for item in items]
        marks = ",".join("?" * len(ids))
        values = ",".join(["(?, 'post', ?, ?, ?, ?, ?, ?, ?)"] * len(items))
        async with self._lock:
            await self._conn.execute(
                f"""INSERT INTO outgoing (list_name, source, source_ref, sender, body,
                                          personalised, verp, token_slot, created_at)
                    VALUES {values} ON CONFLICT (source, source_ref) DO NOTHING""",
                [v for item in items
                 for v in (item.post.list_name, item.post.permalink,
                           sender(item.post.list_name), item.body, int(item.personalised),
                           int(item.verp), item.token_slot.decode("ascii"), now)])
        async with transaction(self._conn, self._lock):
            before = self._conn.total_changes
            await self._conn.execute(
                f"""INSERT OR IGNORE INTO deliveries
                        (outgoing_id, recipient, token, status, next_try_at, created_at,
                         updated_at)
                    SELECT o.id, r.address, r.token, 'pending', 0, ?, ?
                      FROM posts po
                     -- CROSS JOIN keeps posts outermost: left to itself, the planner can
                     -- prefer scanning every post's outgoing row, which grows with the archive.
                     CROSS JOIN outgoing o ON o.source = 'post' AND o.source_ref = po.permalink
                      JOIN {RECEIVERS} r ON r.list_name = po.list_name
                     WHERE po.id IN ({marks}) AND po.expanded = 0
                       AND r.delivery_mode = 'each'""",
                [now, now, *ids])
            await self._conn.execute(
                f"""INSERT OR IGNORE INTO digest_items
                        (list_name, person_id, post_id, size, queued_at)
                    SELECT po.list_name, r.person_id, po.id, length(po.raw), ?
                      FROM posts po CROSS JOIN {RECEIVERS} r ON r.list_name = po.list_name
                     WHERE po.id IN ({marks}) AND po.expanded = 0
                       AND r.delivery_mode IN ('daily', 'weekly')""",
                [now, *ids])
            added = self._conn.total_changes - before
        async with self._lock:
            await self._conn.execute(f"UPDATE posts SET expanded = 1 WHERE id IN ({marks})", ids)
        return added

    async def posting_facts(self, list_name: str, author: str,
                            message_id: str) -> PostingLookup:
        """What the post is judged on, in one round trip (this runs for every post)."""
        rows = list(await self._conn.execute_fetchall(
            POSTING_FACTS, posting_facts_args(list_name, author, message_id)))
        return PostingLookup(rows[0][0], rows[0][1], bool(rows[0][2]))

    async def list_names(self) -> set[str]:
        return {str(r[0]) for r in await self._conn.execute_fetchall("SELECT name FROM lists")}

    async def find(self, ref: str) -> StoredPost | None:
        """A post by its number or its permalink; None for anything else."""
        number = post_number(ref)
        if number is None and not is_permalink(ref):
            return None
        column = "id" if number is not None else "permalink"
        async with self._conn.execute(f"SELECT {POST_COLUMNS} FROM posts WHERE {column} = ?",
                                      (ref if number is None else number,)) as cur:
            row = await cur.fetchone()
        return post_from_row(row) if row else None

    async def listing(self, list_name: str | None = None,
                      status: PostStatus | None = None) -> list[PostSummary]:
        """Every stored post (or those of one list, or one status), oldest first."""
        rows = await self._conn.execute_fetchall(
            """SELECT id, permalink, received_at, status, reason, author, subject,
                      CASE WHEN archived != 0 THEN archived
                           WHEN EXISTS (SELECT 1 FROM archive a WHERE a.post_id = posts.id)
                           THEN 1 ELSE 0 END
                 FROM posts WHERE (?1 IS NULL OR list_name = ?1) AND (?2 IS NULL OR status = ?2)
                ORDER BY id""", (list_name, status))
        return [PostSummary(int(r[0]), r[1], float(r[2]), r[3], r[4], r[5], r[6], int(r[7]))
                for r in rows]

    async def held(self, list_name: str | None = None) -> list[StoredPost]:
        async with self._conn.execute(
            f"SELECT {POST_COLUMNS} FROM posts WHERE status = 'held'"
            " AND (? IS NULL OR list_name = ?) ORDER BY id", (list_name, list_name)) as cur:
            return [post_from_row(row) for row in await cur.fetchall()]

    async def moderate_held(self, ref: str, status: Literal["accepted", "rejected"],
                            reason: str) -> StoredPost:
        """Approve (then the server expands it) or reject a held post."""
        post = await self.find(ref)
        if post is None:
            raise PostError(f"no post '{ref}'")
        if post.status != "held":
            raise PostError(f"post {post.id} is not held (it is {post.status})")
        async with transaction(self._conn, self._lock):
            await self._conn.execute(
                "UPDATE posts SET status = ?, reason = ?, expanded = 0 "
                "WHERE id = ? AND status = 'held'", (status, reason, post.id))
            # The owners' emailed approval code dies with the decision.
            await self._conn.execute(
                "UPDATE moderation_requests SET used_at = ?, used_by = 'a command' "
                "WHERE post_id = ? AND used_at IS NULL", (self._clock(), post.id))
        found = await self.find(str(post.id))
        assert found is not None
        return found

    async def hold_unexpanded(self, post_id: int, reason: str) -> None:
        """Move an accepted post that could not be expanded to the moderation queue."""
        async with transaction(self._conn, self._lock):
            cur = await self._conn.execute(
                "UPDATE posts SET status = 'held', reason = ? "
                "WHERE id = ? AND status = 'accepted' AND expanded = 0", (reason, post_id))
            if cur.rowcount:  # held anew: the owners get a new notice with a new code
                await self._conn.execute(
                    "DELETE FROM moderation_requests WHERE post_id = ?", (post_id,))

    async def counts(self) -> dict[str, int]:
        """Posts by status, plus 'unexpanded': accepted posts not yet queued."""
        async with self._conn.execute(
            "SELECT status, count(*), sum(status = 'accepted' AND expanded = 0) "
            "FROM posts GROUP BY status") as cur:
            rows = await cur.fetchall()
        counts = {str(r[0]): int(r[1]) for r in rows}
        counts["unexpanded"] = sum(int(r[2] or 0) for r in rows)
        return counts
