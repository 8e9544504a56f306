"""Queries for the owners' summary of a post's failed deliveries: which posts are due one,
and queueing it while marking the failures it names as reported, atomically.

A post's failures are summarised once the first attempt at every recipient is over (no
delivery of it is still `pending`), so owners get one mail per post, not one per
recipient. Deliveries still deferred then are retried; those that later give up are
summarised once more, when nothing of the post is deferred any longer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from subscribers.db import Connection, transaction
from subscribers.models import Timestamp
from subscribers.moderation import OwnerNotice
from subscribers.operator_models import FailedDelivery, PostFailures, PostRef
from subscribers.post_models import Recipient
from subscribers.queue import QueueStore


class FailureReports:
    """Failed post deliveries the owners have not heard about (`deliveries.owner_notified`)."""

    def __init__(self, conn: Connection, write_lock: asyncio.Lock | None = None) -> None:
        self._conn = conn
        self._lock = write_lock or asyncio.Lock()

    async def due(self, limit: int = 20) -> tuple[list[PostFailures], bool]:
        """Posts whose unreported failures are to be summarised now, and whether another
        post with unreported failures is still in its first pass (worth a look soon)."""
        async with self._conn.execute(
            """SELECT d.outgoing_id, p.id, p.list_name, p.permalink, p.author, p.subject,
                      p.received_at
                 FROM deliveries d JOIN outgoing o ON o.id = d.outgoing_id AND o.source = 'post'
                 JOIN posts p ON p.permalink = o.source_ref
                WHERE d.status = 'failed' AND d.owner_notified = 0
                GROUP BY d.outgoing_id ORDER BY d.outgoing_id""") as cur:
            candidates = [(int(r[0]), PostRef(int(r[1]), r[2], r[3], r[4], r[5], float(r[6])))
                          for r in await cur.fetchall()]
        found: list[PostFailures] = []
        first_pass_running = False
        for outgoing_id, post in candidates:
            async with self._conn.execute(
                """SELECT count(*), sum(status = 'pending'), sum(status = 'deferred'),
                          sum(status = 'failed' AND owner_notified = 1)
                     FROM deliveries WHERE outgoing_id = ?""", (outgoing_id,)) as cur:
                row = await cur.fetchone()
            assert row is not None
            total, pending, deferred, reported = (int(v or 0) for v in row)
            if pending or (deferred and reported):
                # The first pass is not over, or a later summary waits for the rest.
                first_pass_running = first_pass_running or bool(pending)
                continue
            async with self._conn.execute(
                """SELECT recipient, last_reply FROM deliveries
                    WHERE outgoing_id = ? AND status = 'failed' AND owner_notified = 0
                    ORDER BY recipient""", (outgoing_id,)) as cur:
                failures = tuple(FailedDelivery(r[0], r[1]) for r in await cur.fetchall())
            found.append(PostFailures(outgoing_id, post, failures, total, deferred))
            if len(found) >= limit:
                break
        return found, first_pass_running

    async def report(self, item: PostFailures, sender: str, notices: Sequence[OwnerNotice],
                     now: Timestamp) -> None:
        """Queue the summary's notices and mark its failures reported, in one transaction."""
        async with transaction(self._conn, self._lock):
            async with self._conn.execute(
                """SELECT count(*) FROM deliveries
                    WHERE outgoing_id = ? AND status = 'failed' AND owner_notified = 1""",
                    (item.outgoing_id,)) as cur:
                row = await cur.fetchone()
            round_ = int(row[0]) if row else 0  # tells a later summary's key from the first's
            queue = QueueStore(self._conn)
            for n, notice in enumerate(notices):
                await queue.enqueue_in_transaction(
                    list_name=item.post.list_name, source="notice",
                    source_ref=f"failures:{item.outgoing_id}:{round_}:{n}", sender=sender,
                    body=notice.body, recipients=[Recipient(r) for r in notice.recipients],
                    personalised=False, verp=False, now=now)
            await self._conn.executemany(
                """UPDATE deliveries SET owner_notified = 1
                    WHERE outgoing_id = ? AND recipient = ? AND status = 'failed'""",
                [(item.outgoing_id, f.recipient) for f in item.failures])
