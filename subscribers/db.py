"""Open the SQLite database with safe pragmas and migrate it forward.

This is the only module that imports aiosqlite. The schema version lives in
`PRAGMA user_version`; each file in `migrations/` raises it by one.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path

import aiosqlite

BUSY_TIMEOUT_MS = 5000
# For a connection that reads now and then (a web page, an owner's notice): a small page
# cache, since the operating system caches the file anyway. SQLite's default is 2 MB.
LIGHT_CACHE_KIB = 256

Connection = aiosqlite.Connection
Row = aiosqlite.Row
DatabaseError = sqlite3.Error
IntegrityError = sqlite3.IntegrityError
OperationalError = sqlite3.OperationalError


def migrations() -> list[tuple[int, str]]:
    """Every migration as (version, sql), in order."""
    folder = resources.files("subscribers").joinpath("migrations")
    found: list[tuple[int, str]] = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            found.append((int(entry.name.split("_", 1)[0]), entry.read_text(encoding="utf-8")))
    found.sort()
    return found


@asynccontextmanager
async def transaction(conn: aiosqlite.Connection,
                      lock: asyncio.Lock | None = None) -> AsyncIterator[None]:
    """One write transaction: `BEGIN IMMEDIATE`, then commit, or roll back on any error.

    `lock`, shared by the stores of one process, makes writers take turns in arrival
    order instead of in SQLite's busy handler, which can starve one connection while
    another commits in a loop.
    """
    if lock is None:
        async with _transaction(conn):
            yield
    else:
        async with lock, _transaction(conn):
            yield


@asynccontextmanager
async def _transaction(conn: aiosqlite.Connection) -> AsyncIterator[None]:
    await conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        await conn.rollback()
        raise
    await conn.commit()


async def open_database(path: Path, cache_kib: int | None = None) -> aiosqlite.Connection:
    """Open (creating if needed) and migrate the database at `path`; `cache_kib`, when
    given, is the connection's page cache (else SQLite's default)."""
    if cache_kib is not None and cache_kib < 1:
        raise ValueError(f"a page cache of {cache_kib} KiB")
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = await aiosqlite.connect(path, isolation_level=None)
    try:
        conn.row_factory = aiosqlite.Row
        await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        await conn.execute("PRAGMA journal_mode = WAL")
        await conn.execute("PRAGMA synchronous = FULL")
        await conn.execute("PRAGMA foreign_keys = ON")
        if cache_kib is not None:
            await conn.execute(f"PRAGMA cache_size = -{cache_kib:d}")
        await migrate(conn)
    except BaseException:
        await conn.close()
        raise
    return conn


async def probe_write(conn: aiosqlite.Connection) -> None:
    """Write to the database and roll the write back; raises `DatabaseError` when it cannot
    be written (a read-only file or mount), so that a server finds out before it serves."""
    await conn.execute("BEGIN IMMEDIATE")
    try:
        await conn.execute("CREATE TABLE write_probe (x)")
        await conn.execute("INSERT INTO write_probe VALUES (1)")
    finally:
        await conn.rollback()


async def schema_version(conn: aiosqlite.Connection) -> int:
    async with conn.execute("PRAGMA user_version") as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else 0


async def migrate(conn: aiosqlite.Connection) -> int:
    """Apply the migrations newer than the database, each in its own transaction."""
    current = await schema_version(conn)
    known = migrations()
    newest = known[-1][0] if known else 0
    if current > newest:
        raise RuntimeError(
            f"database schema version {current} is newer than this software ({newest}); "
            "upgrade the software"
        )
    for version, sql in known:
        if version <= current:
            continue
        async with transaction(conn):
            for statement in _split(sql):
                await conn.execute(statement)
            await conn.execute(f"PRAGMA user_version = {version}")
        current = version
    return current


def _split(sql: str) -> list[str]:
    """Split a migration into statements (sqlite3.complete_statement knows the grammar)."""
    statements: list[str] = []
    buffer = ""
    for line in sql.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        statements.append(buffer.strip())
    return [s for s in statements if s and not all(
        ln.strip().startswith("--") or not ln.strip() for ln in s.splitlines())]
