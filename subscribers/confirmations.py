"""Queries for double opt-in: pending requests, their single-use tokens, and applying them.

Tokens are random; only their SHA-256 is stored, so a copy of the database
cannot be used to confirm anything.
"""

from __future__ import annotations

import secrets

from subscribers.addresses import address_key
from subscribers.db import Connection, transaction
from subscribers.models import ConfirmAction, Confirmation, Lang, TokenState, hash_token


class ConfirmationStore:
    """Pending subscribe and unsubscribe requests over one open connection."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def create(self, list_name: str, address: str, action: ConfirmAction, name: str,
                     lang: Lang, now: float, ttl_seconds: float) -> str:
        """Record a request and return its token; a subscribe also makes the membership pending.

        The name and language stay with the request until it is confirmed, for a new
        person too (who is stored with neither), so a stranger filling in the form
        cannot rename anyone or choose their language.
        """
        token = secrets.token_urlsafe(24)
        async with transaction(self._conn):
            if action == "subscribe":
                await self._conn.execute(
                    """INSERT INTO people (address, address_key, created_at, updated_at)
                       VALUES (?, ?, ?, ?) ON CONFLICT (address_key) DO NOTHING""",
                    (address, address_key(address), now, now))
                await self._conn.execute(
                    """INSERT INTO memberships (list_name, person_id, status, token)
                       SELECT ?, id, 'pending', ? FROM people WHERE address_key = ?
                       ON CONFLICT (list_name, person_id) DO UPDATE SET
                         status = CASE WHEN status = 'unsubscribed' THEN 'pending'
                                       ELSE status END""",
                    (list_name, secrets.token_urlsafe(18), address_key(address)))
            await self._conn.execute(
                """INSERT INTO confirmations (token_hash, list_name, address, action, name, lang,
                                              created_at, expires_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
                (hash_token(token), list_name, address, action, name, lang, now,
                 now + ttl_seconds))
        return token

    async def lookup(self, token: str, now: float) -> tuple[TokenState, Confirmation | None]:
        """What a token stands for, without using it."""
        async with self._conn.execute(
            """SELECT list_name, address, action, name, lang, expires_at, used_at
                 FROM confirmations WHERE token_hash = ?""", (hash_token(token),)
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            return "unknown", None
        found = Confirmation(row[0], row[1], row[2], row[3], row[4], float(row[5]))
        if row[6] is not None:
            return "used", found
        if found.expires_at <= now:
            return "expired", found
        return "valid", found

    async def apply(self, token: str, now: float) -> tuple[TokenState, Confirmation | None]:
        """Use a token once: mark it used and change the membership, in one transaction."""
        async with transaction(self._conn):
            state, found = await self.lookup(token, now)
            if state == "valid" and found is not None:
                await self._conn.execute(
                    "UPDATE confirmations SET used_at = ? WHERE token_hash = ?",
                    (now, hash_token(token)))
                if found.action == "subscribe":
                    await self._activate(found, now)
                else:
                    await self._conn.execute(
                        """UPDATE memberships SET status = 'unsubscribed', left_at = ?
                            WHERE list_name = ? AND status != 'unsubscribed'
                              AND person_id = (SELECT id FROM people WHERE address_key = ?)""",
                        (now, found.list_name, address_key(found.address)))
        return state, found

    async def _activate(self, found: Confirmation, now: float) -> None:
        key = address_key(found.address)
        await self._conn.execute(
            """INSERT INTO people (address, address_key, name, lang, created_at, updated_at)
               VALUES (?1, ?2, ?3, ?4, ?5, ?5) ON CONFLICT (address_key) DO UPDATE SET
                 name = CASE WHEN ?3 = '' THEN name ELSE ?3 END,
                 lang = ?4, updated_at = ?5""",
            (found.address, key, found.name, found.lang, now))
        await self._conn.execute(
            """INSERT INTO memberships (list_name, person_id, status, token, joined_at)
               SELECT ?1, id, 'active', ?2, ?3 FROM people WHERE address_key = ?4
               ON CONFLICT (list_name, person_id) DO UPDATE SET
                 status = 'active', left_at = NULL,
                 joined_at = CASE WHEN status = 'active' THEN joined_at ELSE ?3 END""",
            (found.list_name, secrets.token_urlsafe(18), now, key))
        # The member just proved the mailbox works: earlier bounces no longer count.
        await self._conn.execute(
            """INSERT INTO bounce_resets (list_name, address_key, at) VALUES (?, ?, ?)
               ON CONFLICT (list_name, address_key) DO UPDATE SET at = excluded.at""",
            (found.list_name, key, now))

    async def purge_expired(self, before: float) -> int:
        """Forget requests that expired before `before` (until then they say "expired")."""
        cur = await self._conn.execute(
            "DELETE FROM confirmations WHERE expires_at < ?", (before,))
        await self._conn.commit()
        return cur.rowcount
