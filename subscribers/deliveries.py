"""Queries for the operator's view of the queue: deliveries one by one, retrying them now,
and figures per list."""

from __future__ import annotations

from subscribers.db import Connection, Row, transaction
from subscribers.models import Timestamp
from subscribers.operator_models import (
    DeliveryFilter,
    DeliveryRow,
    ListFigures,
    ReplyCount,
    Retried,
)

_ROW = """o.list_name, o.source, o.source_ref, p.id, d.recipient, d.status, d.attempts,
          d.next_try_at, d.last_reply, d.created_at, d.updated_at
     FROM deliveries d JOIN outgoing o ON o.id = d.outgoing_id
     LEFT JOIN posts p ON o.source = 'post' AND p.permalink = o.source_ref"""


def _row(r: Row) -> DeliveryRow:
    return DeliveryRow(r[0], r[1], r[2], None if r[3] is None else int(r[3]), r[4], r[5],
                       int(r[6]), float(r[7]), r[8], float(r[9]), float(r[10]))


def _where(chosen: DeliveryFilter) -> tuple[str, list[object]]:
    """The filter as SQL conditions over `d`; only the ones given, so indexes stay usable."""
    clauses: list[str] = ["1"]
    args: list[object] = []
    if chosen.outgoing_id is not None:
        clauses.append("d.outgoing_id = ?")
        args.append(chosen.outgoing_id)
    if chosen.recipient is not None:
        clauses.append("d.recipient = ? COLLATE NOCASE")
        args.append(chosen.recipient)
    if chosen.status is not None:
        clauses.append("d.status = ?")
        args.append(chosen.status)
    if chosen.since is not None:
        clauses.append("d.updated_at >= ?")
        args.append(chosen.since)
    return " AND ".join(clauses), args


class DeliveryLog:
    """Deliveries as the operator sees them, over one open connection."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def post_outgoing(self, post_id: int) -> int | None:
        """The outgoing message holding a post's list copy; None before it is expanded."""
        async with self._conn.execute(
            """SELECT o.id FROM posts p JOIN outgoing o
                   ON o.source = 'post' AND o.source_ref = p.permalink WHERE p.id = ?""",
                (post_id,)) as cur:
            row = await cur.fetchone()
        return None if row is None else int(row[0])

    async def rows(self, chosen: DeliveryFilter) -> list[DeliveryRow]:
        """Matching deliveries, by message and then recipient."""
        where, args = _where(chosen)
        async with self._conn.execute(
                f"SELECT {_ROW} WHERE {where} ORDER BY d.outgoing_id, d.recipient",
                args) as cur:
            return [_row(r) for r in await cur.fetchall()]

    async def last_to(self, recipient: str, list_name: str) -> DeliveryRow | None:
        """The latest delivery to `recipient` of mail from `list_name`."""
        async with self._conn.execute(
                f"""SELECT {_ROW} WHERE d.recipient = ? COLLATE NOCASE AND o.list_name = ?
                     ORDER BY d.updated_at DESC, d.outgoing_id DESC LIMIT 1""",
                (recipient, list_name)) as cur:
            row = await cur.fetchone()
        return None if row is None else _row(row)

    async def retry(self, chosen: DeliveryFilter, failed_too: bool,
                    now: Timestamp) -> Retried:
        """Make matching deferred deliveries due now, and with `failed_too` queue failed ones
        again (as deferred, due now), in one transaction."""
        where, args = _where(DeliveryFilter(chosen.outgoing_id, chosen.recipient))
        async with transaction(self._conn):
            cur = await self._conn.execute(
                f"""UPDATE deliveries AS d SET next_try_at = ?, updated_at = ?
                     WHERE d.status = 'deferred' AND {where}""", [now, now, *args])
            deferred = cur.rowcount
            failed = 0
            if failed_too:
                cur = await self._conn.execute(
                    f"""UPDATE deliveries AS d SET status = 'deferred', next_try_at = ?,
                               updated_at = ?
                         WHERE d.status = 'failed' AND {where}""", [now, now, *args])
                failed = cur.rowcount
        return Retried(deferred, failed)

    async def figures(self) -> list[ListFigures]:
        """Every list's active members, accepted and held posts, and deliveries by state."""
        async with self._conn.execute(
            """SELECT l.name,
                      (SELECT count(*) FROM memberships m
                        WHERE m.list_name = l.name AND m.status = 'active'),
                      (SELECT count(*) FROM posts p
                        WHERE p.list_name = l.name AND p.status = 'accepted'),
                      (SELECT count(*) FROM posts p
                        WHERE p.list_name = l.name AND p.status = 'held')
                 FROM lists l ORDER BY l.name""") as cur:
            lists = {str(r[0]): [int(r[1]), int(r[2]), int(r[3])] for r in await cur.fetchall()}
        async with self._conn.execute(
            """SELECT o.list_name, d.status, count(*) FROM deliveries d
                 JOIN outgoing o ON o.id = d.outgoing_id GROUP BY o.list_name, d.status"""
        ) as cur:
            states: dict[str, dict[str, int]] = {}
            for r in await cur.fetchall():
                states.setdefault(str(r[0]), {})[str(r[1])] = int(r[2])
        figures = []
        for name in sorted(lists.keys() | states.keys()):
            members, accepted, held = lists.get(name, [0, 0, 0])
            count = states.get(name, {})
            figures.append(ListFigures(name, members, accepted, held, count.get("pending", 0),
                                       count.get("deferred", 0), count.get("failed", 0),
                                       count.get("sent", 0)))
        return figures

    async def oldest_deferred(self) -> DeliveryRow | None:
        """The deferred delivery waiting longest, with the relay's last reply."""
        async with self._conn.execute(
                f"""SELECT {_ROW} WHERE d.status = 'deferred'
                     ORDER BY d.created_at, d.outgoing_id, d.recipient LIMIT 1""") as cur:
            row = await cur.fetchone()
        return None if row is None else _row(row)

    async def replies_since(self, since: Timestamp) -> list[ReplyCount]:
        """Deliveries that failed or were deferred since `since`, by the code that began
        the relay's last reply (most frequent first)."""
        async with self._conn.execute(
            """SELECT CASE WHEN instr(last_reply, ' ') > 0
                           THEN substr(last_reply, 1, instr(last_reply, ' ') - 1)
                           ELSE last_reply END AS code,
                      sum(status = 'failed'), sum(status = 'deferred')
                 FROM deliveries
                WHERE status IN ('failed', 'deferred') AND updated_at >= ?
                GROUP BY code ORDER BY count(*) DESC, code""", (since,)) as cur:
            return [ReplyCount(str(r[0]) or "?", int(r[1]), int(r[2]))
                    for r in await cur.fetchall()]
