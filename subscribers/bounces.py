"""Queries for bounces: record them, read a member's recent ones, disable and re-enable."""

from __future__ import annotations

from subscribers.addresses import address_key
from subscribers.db import Connection, transaction
from subscribers.models import BounceEvent, BounceKind, EnableResult


class BounceStore:
    """The `bounces` and `bounce_resets` tables, and bounce-driven membership changes."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def record(self, list_name: str, address: str, kind: BounceKind, reply: str,
                     now: float) -> None:
        await self._conn.execute(
            "INSERT INTO bounces (address_key, list_name, kind, reply, at) VALUES (?, ?, ?, ?, ?)",
            (address_key(address), list_name, kind, reply[:1000], now))
        await self._conn.commit()

    async def events(self, list_name: str, address: str, since: float) -> list[BounceEvent]:
        """Bounces after `since` and after the member was last re-enabled, oldest first."""
        async with self._conn.execute(
            """SELECT kind, reply, at FROM bounces b
                WHERE list_name = ?1 AND address_key = ?2 AND at > ?3
                  AND at > coalesce((SELECT at FROM bounce_resets r
                                      WHERE r.list_name = ?1 AND r.address_key = ?2), 0)
                ORDER BY at""",
            (list_name, address_key(address), since),
        ) as cur:
            return [BounceEvent(r[0], r[1], float(r[2])) for r in await cur.fetchall()]

    async def disable(self, list_name: str, address: str, now: float) -> bool:
        """Disable an active membership; True only for the call that changed it."""
        cur = await self._conn.execute(
            """UPDATE memberships SET status = 'disabled', left_at = ?
                WHERE list_name = ? AND status = 'active'
                  AND person_id = (SELECT id FROM people WHERE address_key = ?)""",
            (now, list_name, address_key(address)))
        await self._conn.commit()
        return cur.rowcount > 0

    async def enable(self, list_name: str, address: str, now: float) -> EnableResult:
        """Re-activate a disabled membership and forget the bounces that disabled it."""
        key = address_key(address)
        async with transaction(self._conn):
            async with self._conn.execute(
                """SELECT m.status FROM memberships m JOIN people p ON p.id = m.person_id
                    WHERE m.list_name = ? AND p.address_key = ?""", (list_name, key)
            ) as cur:
                row = await cur.fetchone()
            result: EnableResult = ("not_member" if row is None
                                    else "enabled" if row[0] == "disabled" else "not_disabled")
            if result == "enabled":
                await self._conn.execute(
                    """UPDATE memberships SET status = 'active', left_at = NULL
                        WHERE list_name = ?
                          AND person_id = (SELECT id FROM people WHERE address_key = ?)""",
                    (list_name, key))
                await self._conn.execute(
                    """INSERT INTO bounce_resets (list_name, address_key, at) VALUES (?, ?, ?)
                       ON CONFLICT (list_name, address_key) DO UPDATE SET at = excluded.at""",
                    (list_name, key, now))
        return result

    async def last_reasons(self, list_name: str) -> dict[str, str]:
        """The most recent bounce reply for each address on a list, by address key."""
        async with self._conn.execute(
            """SELECT address_key, reply FROM bounces b
                WHERE list_name = ? AND id = (SELECT max(id) FROM bounces
                                              WHERE list_name = b.list_name
                                                AND address_key = b.address_key)""",
            (list_name,),
        ) as cur:
            return {str(r[0]): str(r[1]) for r in await cur.fetchall()}
