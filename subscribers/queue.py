"""Queries for the per-recipient outbox: enqueue, claim due deliveries, record outcomes."""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from subscribers.db import Connection


@dataclass(frozen=True)
class Recipient:
    address: str
    token: str = ""


@dataclass(frozen=True)
class Enqueued:
    outgoing_id: int
    created: bool
    recipients_added: int


@dataclass(frozen=True)
class Outgoing:
    id: int
    list_name: str
    sender: str
    body: bytes
    personalised: bool
    verp: bool
    token_slot: bytes = b"CCR-TOKEN-SLOT-0f3a9c"  # what each recipient's token replaces


@dataclass(frozen=True)
class Due:
    """A delivery that may be attempted now."""

    outgoing_id: int
    recipient: str
    token: str
    attempts: int
    created_at: float


@dataclass(frozen=True)
class Outcome:
    """What to record for one recipient after an attempt."""

    outgoing_id: int
    recipient: str
    status: str  # 'sent', 'deferred' or 'failed'
    reply: str
    next_try_at: float = 0.0
    bounce: bool = False


@dataclass(frozen=True)
class QueueCounts:
    pending: int = 0
    deferred: int = 0
    sent: int = 0
    failed: int = 0
    oldest_pending_at: float | None = None
    messages_in_flight: int = 0


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


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class QueueStore:
    """The outbox tables over one open connection."""

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
        now: float | None = None,
    ) -> Enqueued:
        """Store one outgoing message and its recipients in one transaction.

        `(source, source_ref)` is unique: enqueueing it again adds only the
        recipients not already queued, so a rerun never sends anything twice.
        """
        async with self._writing:
            return await self._enqueue(list_name=list_name, source=source,
                                       source_ref=source_ref, sender=sender, body=body,
                                       recipients=recipients, personalised=personalised,
                                       verp=verp, now=now)

    async def _enqueue(self, *, list_name: str, source: str, source_ref: str, sender: str,
                       body: bytes, recipients: Sequence[Recipient], personalised: bool,
                       verp: bool, now: float | None) -> Enqueued:
        await self._conn.execute("BEGIN IMMEDIATE")
        try:
            result = await self.enqueue_in_transaction(
                list_name=list_name, source=source, source_ref=source_ref, sender=sender,
                body=body, recipients=recipients, personalised=personalised, verp=verp,
                now=time.time() if now is None else now,
            )
            await self._conn.commit()
        except BaseException:
            await self._conn.rollback()
            raise
        return result

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
        now: float,
    ) -> Enqueued:
        """`enqueue` for a caller that already holds a transaction (e.g. post expansion)."""
        async with self._conn.execute(
            "SELECT id FROM outgoing WHERE source = ? AND source_ref = ?", (source, source_ref)
        ) as cur:
            row = await cur.fetchone()
        created = row is None
        if row is None:
            cur = await self._conn.execute(
                """INSERT INTO outgoing (list_name, source, source_ref, sender, body,
                                         personalised, verp, created_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
                (list_name, source, source_ref, sender, body, int(personalised), int(verp),
                 _iso(now)),
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

    async def due(self, now: float, limit: int) -> list[Due]:
        """Deliveries ready to try, oldest message first, grouped by message."""
        async with self._conn.execute(
            """SELECT outgoing_id, recipient, token, attempts, created_at FROM deliveries
                WHERE status IN ('pending', 'deferred') AND next_try_at <= ?
                ORDER BY outgoing_id, recipient LIMIT ?""",
            (now, limit),
        ) as cur:
            return [Due(int(r[0]), r[1], r[2], int(r[3]), float(r[4]))
                    for r in await cur.fetchall()]

    async def next_due_at(self) -> float | None:
        """When the earliest waiting delivery becomes due, or None when nothing waits."""
        async with self._conn.execute(
            "SELECT min(next_try_at) FROM deliveries WHERE status IN ('pending', 'deferred')"
        ) as cur:
            row = await cur.fetchone()
        return None if row is None or row[0] is None else float(row[0])

    async def record(self, outcomes: Sequence[Outcome], now: float) -> None:
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
                      rows: Sequence[tuple[str, str, float, float, int, str]], now: float) -> None:
        await self._conn.execute("BEGIN IMMEDIATE")
        try:
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
            await self._conn.commit()
        except BaseException:
            await self._conn.rollback()
            raise

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
