"""Queries keyed by a membership's own token: the `/u/<token>` one-click unsubscribe."""

from __future__ import annotations

from subscribers.db import Connection
from subscribers.members import MEMBER_COLUMNS, MEMBER_FROM, member_from_row
from subscribers.models import Member


class TokenMembers:
    """Find and unsubscribe memberships by `memberships.token`."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def find(self, token: str) -> Member | None:
        sql = f"""
            SELECT {MEMBER_COLUMNS} FROM {MEMBER_FROM}
             WHERE m.token = ?
        """
        async with self._conn.execute(sql, (token,)) as cur:
            row = await cur.fetchone()
        return member_from_row(row) if row else None

    async def unsubscribe(self, token: str, now: float) -> Member | None:
        """Unsubscribe at once; None for an unknown token. Repeating it changes nothing."""
        await self._conn.execute(
            """UPDATE memberships SET status = 'unsubscribed', left_at = ?
                WHERE token = ? AND status != 'unsubscribed'""",
            (now, token))
        await self._conn.commit()
        return await self.find(token)
