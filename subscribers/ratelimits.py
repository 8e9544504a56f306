"""Queries for sliding-window rate limits kept in SQLite, so they survive restarts."""

from __future__ import annotations

from subscribers.db import Connection, transaction

# Events older than this are dropped whatever their bucket; no window is longer.
RETENTION_SECONDS = 7 * 86400.0


class RateStore:
    """Counts events per bucket ("subscribe-ip:203.0.113.9", "reply:jo@example.org")."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def allow(self, bucket: str, limit: int, window_seconds: float, now: float) -> bool:
        """Count one event and return True, unless `limit` events already fell in the window."""
        async with transaction(self._conn):
            await self._conn.execute(
                "DELETE FROM rate_events WHERE at <= ? OR (bucket = ? AND at <= ?)",
                (now - max(RETENTION_SECONDS, window_seconds), bucket, now - window_seconds))
            async with self._conn.execute(
                "SELECT count(*) FROM rate_events WHERE bucket = ?", (bucket,)
            ) as cur:
                row = await cur.fetchone()
            allowed = (int(row[0]) if row else 0) < limit
            if allowed:
                await self._conn.execute(
                    "INSERT INTO rate_events (bucket, at) VALUES (?, ?)", (bucket, now))
        return allowed
