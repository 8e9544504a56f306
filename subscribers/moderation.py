"""Queries for moderation requests: the owners' notice of each held post, and the single-use
token (stored as its SHA-256) that approves or rejects the post by email."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from subscribers.db import Connection, transaction
from subscribers.models import Timestamp
from subscribers.operator_models import ModerationOutcome
from subscribers.post_models import Recipient, StoredPost
from subscribers.posts import PostStore
from subscribers.queue import QueueStore


@dataclass(frozen=True)
class OwnerNotice:
    """One notice to queue: its bytes and who gets it."""

    body: bytes
    recipients: tuple[str, ...]


class ModerationStore:
    """The `moderation_requests` table over one open connection."""

    def __init__(self, conn: Connection, write_lock: asyncio.Lock | None = None) -> None:
        self._conn = conn
        self._lock = write_lock or asyncio.Lock()

    async def unannounced(self, limit: int = 50) -> list[StoredPost]:
        """Held posts whose owners have not been sent a notice yet, oldest first."""
        async with self._conn.execute(
            """SELECT p.id FROM posts p WHERE p.status = 'held'
                  AND NOT EXISTS (SELECT 1 FROM moderation_requests r WHERE r.post_id = p.id)
                ORDER BY p.id LIMIT ?""", (limit,)) as cur:
            ids = [int(r[0]) for r in await cur.fetchall()]
        posts = PostStore(self._conn)
        found = [await posts.find(str(post_id)) for post_id in ids]
        return [post for post in found if post is not None]

    async def announce(self, post: StoredPost, token_hash: str, sender: str,
                       notices: Sequence[OwnerNotice], now: Timestamp) -> bool:
        """Record the post's request and queue its notices, atomically; False (and nothing
        queued) when it was announced already or is no longer held."""
        async with transaction(self._conn, self._lock):
            cur = await self._conn.execute(
                """INSERT INTO moderation_requests (post_id, token_hash, created_at)
                   SELECT id, ?, ? FROM posts WHERE id = ? AND status = 'held'
                   ON CONFLICT DO NOTHING""", (token_hash, now, post.id))
            if cur.rowcount == 0:
                return False
            queue = QueueStore(self._conn)
            for n, notice in enumerate(notices):
                await queue.enqueue_in_transaction(
                    list_name=post.list_name, source="notice",
                    source_ref=f"held:{post.id}:{n}", sender=sender, body=notice.body,
                    recipients=[Recipient(r) for r in notice.recipients], personalised=False,
                    verp=False, now=now)
        return True

    async def decide(self, token_hash: str, list_name: str, accept: bool, reason: str,
                     by: str, now: Timestamp) -> tuple[ModerationOutcome, StoredPost | None]:
        """Approve (the server then sends it) or reject the held post the token stands for,
        and spend the token, in one transaction.

        "unknown": no such token for this list (nothing changes); "not_held": the post was
        already approved or rejected, by email or by a command (nothing changes).
        """
        async with transaction(self._conn, self._lock):
            async with self._conn.execute(
                """SELECT r.post_id, r.used_at, p.status FROM moderation_requests r
                     JOIN posts p ON p.id = r.post_id
                    WHERE r.token_hash = ? AND p.list_name = ?""",
                    (token_hash, list_name)) as cur:
                row = await cur.fetchone()
            if row is None:
                return "unknown", None
            post_id = int(row[0])
            if row[1] is not None or row[2] != "held":
                return "not_held", await PostStore(self._conn).find(str(post_id))
            await self._conn.execute(
                "UPDATE posts SET status = ?, reason = ?, expanded = 0 WHERE id = ?",
                ("accepted" if accept else "rejected", reason, post_id))
            await self._conn.execute(
                "UPDATE moderation_requests SET used_at = ?, used_by = ? WHERE post_id = ?",
                (now, by, post_id))
        return "done", await PostStore(self._conn).find(str(post_id))
