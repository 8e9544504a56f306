"""Queries for who may read a list's archive: one-time sign-in links, sessions, personal
feed URLs, and whether an address is an active member or an owner of a list.

Sign-in links and session cookies are random; only their SHA-256 is stored, so a copy
of the database lets nobody in.
"""

from __future__ import annotations

import secrets
from typing import Literal

from subscribers.addresses import address_key
from subscribers.archive_models import Visitor
from subscribers.db import Connection, transaction
from subscribers.models import hash_token

SigninState = Literal["valid", "expired", "used", "unknown"]


class ArchiveAccess:
    """Sign-ins, sessions and feed tokens over one open connection (the caller takes turns
    for writes)."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def may_read(self, list_name: str, address: str) -> bool:
        """An active member of the list, or one of its owners in the database."""
        rows = await self._conn.execute_fetchall(
            """SELECT EXISTS (SELECT 1 FROM memberships m JOIN people p ON p.id = m.person_id
                               WHERE m.list_name = ?1 AND p.address_key = ?2
                                 AND m.status = 'active')
                   OR EXISTS (SELECT 1 FROM list_owners
                               WHERE list_name = ?1 AND address_key = ?2)""",
            (list_name, address_key(address)))
        return bool(next(iter(rows))[0])

    async def has_owners(self, list_name: str) -> bool:
        rows = await self._conn.execute_fetchall(
            "SELECT EXISTS (SELECT 1 FROM list_owners WHERE list_name = ?)", (list_name,))
        return bool(next(iter(rows))[0])

    async def create_signin(self, list_name: str, address: str, next_path: str, now: float,
                            ttl_seconds: float) -> str:
        """Record a sign-in link and return its token (single use, expiring)."""
        token = secrets.token_urlsafe(24)
        async with transaction(self._conn):
            await self._conn.execute("DELETE FROM archive_signins WHERE expires_at < ?",
                                     (now - 86400.0,))
            await self._conn.execute(
                """INSERT INTO archive_signins (token_hash, list_name, address, next_path,
                                                created_at, expires_at)
                   VALUES (?, ?, ?, ?, ?, ?)""",
                (hash_token(token), list_name, address, next_path, now, now + ttl_seconds))
        return token

    async def signin(self, token: str, now: float) -> tuple[SigninState, str, str, str]:
        """(state, list, address, next path) of a sign-in link, without using it."""
        rows = list(await self._conn.execute_fetchall(
            """SELECT list_name, address, next_path, expires_at, used_at FROM archive_signins
                WHERE token_hash = ?""", (hash_token(token),)))
        if not rows:
            return "unknown", "", "", ""
        list_name, address, next_path, expires_at, used_at = rows[0]
        state: SigninState = ("used" if used_at is not None
                              else "expired" if float(expires_at) <= now else "valid")
        return state, list_name, address, next_path

    async def use_signin(self, token: str, now: float, session_seconds: float
                         ) -> tuple[SigninState, str, str, str, str]:
        """Use a sign-in link once: (state, list, address, next path, a new session's
        token, "" unless the link was valid)."""
        async with transaction(self._conn):
            state, list_name, address, next_path = await self.signin(token, now)
            if state != "valid":
                return state, list_name, address, next_path, ""
            await self._conn.execute(
                "UPDATE archive_signins SET used_at = ? WHERE token_hash = ?",
                (now, hash_token(token)))
            session = secrets.token_urlsafe(32)
            await self._conn.execute("DELETE FROM archive_sessions WHERE expires_at < ?",
                                     (now,))
            await self._conn.execute(
                """INSERT INTO archive_sessions (token_hash, address, address_key, created_at,
                                                 expires_at) VALUES (?, ?, ?, ?, ?)""",
                (hash_token(session), address, address_key(address), now,
                 now + session_seconds))
        return state, list_name, address, next_path, session

    async def visitor(self, session: str, now: float) -> Visitor | None:
        """Who holds this session cookie, None when it is unknown or over."""
        rows = list(await self._conn.execute_fetchall(
            "SELECT address, expires_at FROM archive_sessions WHERE token_hash = ?",
            (hash_token(session),)))
        if not rows or float(rows[0][1]) <= now:
            return None
        return Visitor(rows[0][0], float(rows[0][1]))

    async def end_session(self, session: str) -> None:
        async with transaction(self._conn):
            await self._conn.execute("DELETE FROM archive_sessions WHERE token_hash = ?",
                                     (hash_token(session),))

    async def feed_token(self, list_name: str, address: str, now: float) -> str:
        """The member's own feed token for the list, made on first use (a read after)."""
        key = address_key(address)
        rows = list(await self._conn.execute_fetchall(
            "SELECT token FROM archive_feeds WHERE list_name = ? AND address_key = ?",
            (list_name, key)))
        if rows:
            return str(rows[0][0])
        async with transaction(self._conn):
            await self._conn.execute(
                """INSERT INTO archive_feeds (token, list_name, address_key, created_at)
                   VALUES (?, ?, ?, ?) ON CONFLICT (list_name, address_key) DO NOTHING""",
                (secrets.token_urlsafe(24), list_name, key, now))
        return await self.feed_token(list_name, address, now)  # found now

    async def feed_reader(self, list_name: str, token: str) -> bool:
        """Whether `token` is the feed token of someone who may still read the list."""
        rows = list(await self._conn.execute_fetchall(
            """SELECT f.address_key FROM archive_feeds f WHERE f.list_name = ? AND f.token = ?
                  AND (EXISTS (SELECT 1 FROM memberships m JOIN people p ON p.id = m.person_id
                                WHERE m.list_name = f.list_name
                                  AND p.address_key = f.address_key AND m.status = 'active')
                       OR EXISTS (SELECT 1 FROM list_owners o WHERE o.list_name = f.list_name
                                   AND o.address_key = f.address_key))""",
            (list_name, token)))
        return bool(rows)
