"""Queries for the delivery queue (`outgoing` messages, their per-recipient `deliveries`):
enqueue, claim due deliveries, record outcomes."""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Sequence

from subscribers.db import Connection, transaction
from subscribers.models import Timestamp
from subscribers.post_models import Due, Enqueued, Outcome, Outgoing, QueueCounts, Recipient

# Six values a row: within SQLite's oldest limit of 999 variables a statement.
_ONE_STATEMENT_ROWS = 999 // 6


@functools.lru_cache(maxsize=64)
def _record_in_one(count: int) -> str:
    """`_record`'s UPDATE for `count` outcomes as one statement (UPDATE ... FROM VALUES)."""
    values = ", ".join(["(?, ?, ?, ?, ?, ?)"] * count)
    return ("UPDATE deliveries SET status = v.column1, last_reply = v.column2, "
            "next_try_at = v.column3, attempts = attempts + 1, updated_at = v.column4 "
            f"FROM (VALUES {values}) AS v "
            "WHERE deliveries.outgoing_id = v.column5 AND deliveries.recipient = v.column6")


class QueueStore:
    """The queue's tables over one open connection."""

    def __init__(self, conn: Connection, write_lock: asyncio.Lock | None = None) -> None:
        self._conn = conn
        # One transaction at a time on this connection, however many tasks share the store;
        # a lock shared by every store of a process also spares SQLite's busy-wait.
        self._writing = write_lock or asyncio.Lock()

    async def enqueue(
        self,
        *,
        list_name: str,
        source: str,
        source_ref: str,
        sender: str,
        body: bytes,
        recipients: Sequence[Recipient],
        personalised: bool = False,
        verp: bool = False,
        now: Timestamp | None = None,
        token_slot: bytes | None = None,
    ) -> Enqueued:
        """Store one outgoing message and its recipients in one transaction.

        `(source, source_ref)` is unique: enqueueing it again adds only the
        recipients not already queued, so a rerun never sends anything twice.
        """
        async with self._writing:
            return await self._enqueue(list_name=list_name, source=source,
                                       source_ref=source_ref, sender=sender, body=body,
                                       recipients=recipients, personalised=personalised,
                                       verp=verp, now=now, token_slot=token_slot)

    async def _enqueue(self, *, list_name: str, source: str, source_ref: str, sender: str,
                       body: bytes, recipients: Sequence[Recipient], personalised: bool,
                       verp: bool, now: Timestamp | None,
                       token_slot: bytes | None) -> Enqueued:
        async with transaction(self._conn):
            return await self.enqueue_in_transaction(
                list_name=list_name, source=source, source_ref=source_ref, sender=sender,
                body=body, recipients=recipients, personalised=personalised, verp=verp,
                now=time.time() if now is None else now, token_slot=token_slot,
            )

    async def enqueue_in_transaction(
        self,
        *,
        list_name: str,
        source: str,
        source_ref: str,
        sender: str,
        body: bytes,
        recipients: Sequence[Recipient],
        personalised: bool,
        verp: bool,
        now: Timestamp,
        token_slot: bytes | None = None,
    ) -> Enqueued:
        """`enqueue` for a caller that already holds a transaction (e.g. post expansion).

        A personalised message holds `token_slot` where each recipient's token goes; None
        means the fixed slot, for messages whose text is all ours (see `Outgoing`).
        """
        async with self._conn.execute(
            "SELECT id FROM outgoing WHERE source = ? AND source_ref = ?", (source, source_ref)
        ) as cur:
            row = await cur.fetchone()
        created = row is None
        if row is None:
            cur = await self._conn.execute(
                """INSERT INTO outgoing (list_name, source, source_ref, sender, body,
                                         personalised, verp, token_slot, created_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (list_name, source, source_ref, sender, body, int(personalised), int(verp),
                 (token_slot or Outgoing.token_slot).decode("ascii"), now),
            )
            outgoing_id = int(cur.lastrowid or 0)
        else:
            outgoing_id = int(row[0])
        before = self._conn.total_changes
        await self._conn.executemany(
            """INSERT OR IGNORE INTO deliveries
                   (outgoing_id, recipient, token, status, next_try_at, created_at, updated_at)
               VALUES (?, ?, ?, 'pending', 0, ?, ?)""",
            [(outgoing_id, r.address, r.token, now, now) for r in recipients],
        )
        added = self._conn.total_changes - before
        return Enqueued(outgoing_id=outgoing_id, created=created, recipients_added=added)

    async def outgoing(self, outgoing_id: int) -> Outgoing:
        async with self._conn.execute(
            "SELECT id, list_name, sender, body, personalised, verp, token_slot FROM outgoing "
            "WHERE id = ?",
            (outgoing_id,),
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            raise KeyError(outgoing_id)
        return Outgoing(int(row[0]), row[1], row[2], bytes(row[3]), bool(row[4]), bool(row[5]),
                        str(row[6]).encode("ascii"))

    async def due(self, now: Timestamp, limit: int) -> list[Due]:
        """Deliveries ready to try, oldest message first, grouped by message."""
        async with self._conn.execute(
            """SELECT outgoing_id, recipient, token, attempts, created_at FROM deliveries
                WHERE status IN ('pending', 'deferred') AND next_try_at <= ?
                ORDER BY outgoing_id, recipient LIMIT ?""",
            (now, limit),
        ) as cur:
            return [Due(int(r[0]), r[1], r[2], int(r[3]), float(r[4]))
                    for r in await cur.fetchall()]

    async def next_due_at(self) -> Timestamp | None:
        """When the earliest waiting delivery becomes due, or None when nothing waits."""
        async with self._conn.execute(
            "SELECT min(next_try_at) FROM deliveries WHERE status IN ('pending', 'deferred')"
        ) as cur:
            row = await cur.fetchone()
        return None if row is None or row[0] is None else float(row[0])

    async def data_version(self) -> int:
        """SQLite's `PRAGMA data_version`: it changes when another connection (another
        process's too) commits, so a poll of it sees `ccrlist retry` without a query."""
        async with self._conn.execute("PRAGMA data_version") as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def record(self, outcomes: Sequence[Outcome], now: Timestamp) -> None:
        """Store the results of attempts, and hard bounces, in one transaction."""
        rows = [(o.status, o.reply[:1000], o.next_try_at, now, o.outgoing_id, o.recipient)
                for o in outcomes]
        if not rows:
            return
        async with self._writing:
            if len(rows) <= _ONE_STATEMENT_ROWS and not any(o.bounce for o in outcomes):
                # The common case, one copy per member going out: one statement is its own
                # transaction, so the database thread is asked once instead of four times.
                await self._conn.execute(_record_in_one(len(rows)),
                                         [value for row in rows for value in row])
                return
            await self._record(outcomes, rows, now)

    async def _record(self, outcomes: Sequence[Outcome],
                      rows: Sequence[tuple[str, str, float, float, int, str]],
                      now: Timestamp) -> None:
        async with transaction(self._conn):
            await self._conn.executemany(
                """UPDATE deliveries SET status = ?, last_reply = ?, next_try_at = ?,
                          attempts = attempts + 1, updated_at = ?
                    WHERE outgoing_id = ? AND recipient = ?""",
                rows,
            )
            await self._conn.executemany(
                """INSERT INTO bounces (address_key, list_name, kind, reply, at)
                   SELECT ?, list_name, 'hard', ?, ? FROM outgoing WHERE id = ?""",
                [(o.recipient.casefold(), o.reply[:1000], now, o.outgoing_id)
                 for o in outcomes if o.bounce],
            )

    async def counts(self, outgoing_id: int | None = None) -> QueueCounts:
        """Recipients by state, for one message or the whole queue."""
        async with self._conn.execute(
            """SELECT
                 coalesce(sum(status = 'pending'), 0), coalesce(sum(status = 'deferred'), 0),
                 coalesce(sum(status = 'sent'), 0), coalesce(sum(status = 'failed'), 0),
                 min(CASE WHEN status IN ('pending', 'deferred') THEN created_at END),
                 count(DISTINCT CASE WHEN status IN ('pending', 'deferred')
                                     THEN outgoing_id END)
                 FROM deliveries WHERE (? IS NULL OR outgoing_id = ?)""",
            (outgoing_id, outgoing_id),
        ) as cur:
            row = await cur.fetchone()
        assert row is not None
        return QueueCounts(int(row[0]), int(row[1]), int(row[2]), int(row[3]),
                           None if row[4] is None else float(row[4]), int(row[5]))
