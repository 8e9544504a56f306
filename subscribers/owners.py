"""Queries for the owners of each list: who `<list>-owner@` and bounce notices reach."""

from __future__ import annotations

import time
from collections.abc import Callable

from subscribers.addresses import address_key
from subscribers.db import Connection
from subscribers.models import Lang, Timestamp


class OwnerStore:
    """The `list_owners` table over one open connection."""

    def __init__(self, conn: Connection, clock: Callable[[], Timestamp] = time.time) -> None:
        self._conn = conn
        self._clock = clock

    async def owners(self, list_name: str) -> list[str]:
        async with self._conn.execute(
            "SELECT address FROM list_owners WHERE list_name = ? ORDER BY address_key",
            (list_name,),
        ) as cur:
            return [str(row[0]) for row in await cur.fetchall()]

    async def owners_with_lang(self, list_name: str) -> list[tuple[str, Lang]]:
        """The owners with the language they chose as members of any list (English when
        they are not members), so each reads notices in it."""
        async with self._conn.execute(
            """SELECT o.address, coalesce(p.lang, 'en') FROM list_owners o
                 LEFT JOIN people p ON p.address_key = o.address_key
                WHERE o.list_name = ? ORDER BY o.address_key""", (list_name,)) as cur:
            return [(str(r[0]), "fr" if r[1] == "fr" else "en") for r in await cur.fetchall()]

    async def lists_owned(self, address: str) -> list[str]:
        async with self._conn.execute(
            "SELECT list_name FROM list_owners WHERE address_key = ? ORDER BY list_name",
            (address_key(address),)) as cur:
            return [str(r[0]) for r in await cur.fetchall()]
    async def everyone(self) -> list[str]:
        """The owners of every list, each address once."""
        async with self._conn.execute(
            "SELECT min(address) FROM list_owners GROUP BY address_key ORDER BY address_key"
        ) as cur:
            return [str(row[0]) for row in await cur.fetchall()]

    async def add(self, list_name: str, address: str) -> bool:
        """Make `address` an owner; False when it already was one."""
        cur = await self._conn.execute(
            """INSERT INTO list_owners (list_name, address, address_key, added_at)
               VALUES (?, ?, ?, ?) ON CONFLICT (list_name, address_key) DO NOTHING""",
            (list_name, address, address_key(address), self._clock()),
        )
        await self._conn.commit()
        return cur.rowcount > 0

    async def remove(self, list_name: str, address: str) -> bool:
        cur = await self._conn.execute(
            "DELETE FROM list_owners WHERE list_name = ? AND address_key = ?",
            (list_name, address_key(address)),
        )
        await self._conn.commit()
        return cur.rowcount > 0
