"""Queries for lists, people and memberships."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Sequence

from subscribers.addresses import address_key
from subscribers.db import Connection, Row, transaction
from subscribers.models import (
    ImportReport,
    MailingList,
    Member,
    NewMember,
    PostingPolicy,
    Status,
    Timestamp,
    is_list_name,
)

RECEIVERS = "receivers"  # the view of who receives a list's mail (migration 007)


class StoreError(Exception):
    """A request the store refuses: unknown list, duplicate list, bad name."""


MEMBER_COLUMNS = """
    m.list_name, p.address, p.name, p.lang, m.status, m.delivery_mode, m.token,
    m.joined_at, m.left_at
"""


def member_from_row(row: Row) -> Member:
    """A `Member` from a row selected with `MEMBER_COLUMNS`."""
    return Member(*row)


Existing = dict[str, tuple[str, str, str | None]]


def classify(existing: Existing, rows: Sequence[NewMember]) -> tuple[ImportReport, list[NewMember]]:
    """Sort rows into added, updated and unchanged; return the report and the rows to write.

    `existing` maps address keys to (name, lang, status on this list or None).
    A repeated address in `rows` counts once, with its last values.
    """
    seen = dict(existing)
    changed: dict[str, NewMember] = {}
    added = updated = unchanged = 0
    for row in rows:
        key = address_key(row.address)
        before = seen.get(key)
        after = (row.name or (before[0] if before else ""),
                 row.lang or (before[1] if before else "en"), "active")
        if before == after:
            unchanged += 1
            continue
        if key in changed or (before is not None and before[2] is not None):
            updated += 1
        else:
            added += 1
        changed[key] = row
        seen[key] = after
    return ImportReport(added=added, updated=updated, unchanged=unchanged), list(changed.values())


# `add`, from the temporary table `incoming`: an empty name or language keeps the person's
# own; a membership becomes active, and its join time changes only when it was not.
_NEW_PEOPLE = """
    INSERT INTO people (address, address_key, name, lang, created_at, updated_at)
    SELECT address, address_key, name, coalesce(nullif(lang, ''), 'en'), ?1, ?1
      FROM incoming WHERE NOT known"""
_KNOWN_PEOPLE = """
    UPDATE people SET address = i.address,
                      name = CASE WHEN i.name = '' THEN people.name ELSE i.name END,
                      lang = CASE WHEN i.lang = '' THEN people.lang ELSE i.lang END,
                      updated_at = ?1
      FROM incoming i WHERE i.known AND people.address_key = i.address_key"""
_MEMBERSHIPS = """
    INSERT INTO memberships (list_name, person_id, status, token, joined_at)
    SELECT ?1, p.id, 'active', i.token, ?2
      FROM incoming i JOIN people p ON p.address_key = i.address_key WHERE true
    ON CONFLICT (list_name, person_id) DO UPDATE SET
      status = 'active', left_at = NULL,
      joined_at = CASE WHEN status = 'active' THEN joined_at ELSE excluded.joined_at END"""


class MemberStore:
    """Lists and memberships over one open connection."""

    def __init__(self, conn: Connection, clock: Callable[[], Timestamp] = time.time) -> None:
        self._conn = conn
        self._clock = clock

    async def lists(self) -> list[MailingList]:
        sql = """
            SELECT l.name, l.description, l.policy,
                   (SELECT count(*) FROM memberships m
                     WHERE m.list_name = l.name AND m.status = 'active')
              FROM lists l ORDER BY l.name
        """
        async with self._conn.execute(sql) as cur:
            return [MailingList(*row) for row in await cur.fetchall()]

    async def get_list(self, name: str) -> MailingList | None:
        async with self._conn.execute(
            "SELECT name, description, policy FROM lists WHERE name = ?", (name,)
        ) as cur:
            row = await cur.fetchone()
        return MailingList(*row) if row else None

    async def require_list(self, name: str) -> MailingList:
        found = await self.get_list(name)
        if found is None:
            names = ", ".join(lst.name for lst in await self.lists())
            raise StoreError(f"no list named '{name}' (lists: {names})")
        return found

    async def create_list(self, name: str, policy: PostingPolicy,
                          description: str = "") -> MailingList:
        if not is_list_name(name):
            raise StoreError(
                f"{name!r} is not a valid list name: use up to 64 lower-case letters, digits, "
                "'_', '-' and single '.' between them, starting with a letter or digit")
        if await self.get_list(name) is not None:
            raise StoreError(f"a list named '{name}' already exists")
        await self._conn.execute(
            "INSERT INTO lists (name, description, policy, created_at) VALUES (?, ?, ?, ?)",
            (name, description, policy, self._clock()),
        )
        await self._conn.commit()
        return MailingList(name, description, policy)

    async def members(self, list_name: str, status: Status | None = None) -> list[Member]:
        sql = f"""
            SELECT {MEMBER_COLUMNS} FROM memberships m JOIN people p ON p.id = m.person_id
             WHERE m.list_name = ? AND (? IS NULL OR m.status = ?)
             ORDER BY p.address_key
        """
        async with self._conn.execute(sql, (list_name, status, status)) as cur:
            return [member_from_row(row) for row in await cur.fetchall()]

    async def receivers(self, list_name: str) -> list[Member]:
        """The members who receive the list's mail (the `receivers` view: the one
        definition, which post expansion reads too)."""
        sql = f"""
            SELECT list_name, address, name, lang, status, delivery_mode, token, joined_at,
                   left_at
              FROM {RECEIVERS} WHERE list_name = ? ORDER BY address_key
        """
        async with self._conn.execute(sql, (list_name,)) as cur:
            return [member_from_row(row) for row in await cur.fetchall()]

    async def find_member(self, list_name: str, address: str) -> Member | None:
        sql = f"""
            SELECT {MEMBER_COLUMNS} FROM memberships m JOIN people p ON p.id = m.person_id
             WHERE m.list_name = ? AND p.address_key = ?
        """
        async with self._conn.execute(sql, (list_name, address_key(address))) as cur:
            row = await cur.fetchone()
        return member_from_row(row) if row else None

    async def add(self, list_name: str, rows: Sequence[NewMember]) -> ImportReport:
        """Subscribe (or re-activate) each row, in one transaction. Idempotent."""
        await self.require_list(list_name)
        now = self._clock()
        async with transaction(self._conn):
            existing = await self._existing(list_name)
            report, changed = classify(existing, rows)
            # Set-based: the changed rows go into a temporary table, then one statement
            # each writes people and memberships (an import of 100,000 rows costs a third
            # of the CPU that a statement per row does).
            await self._conn.execute(
                "CREATE TEMP TABLE incoming (address TEXT, address_key TEXT PRIMARY KEY, "
                "name TEXT, lang TEXT, token TEXT, known INTEGER)")
            try:
                await self._conn.executemany(
                    "INSERT INTO incoming VALUES (?, ?, ?, ?, ?, ?)",
                    [(row.address, key, row.name, row.lang or "", secrets.token_urlsafe(18),
                      int(key in existing))
                     for row in changed for key in (address_key(row.address),)])
                await self._conn.execute(_NEW_PEOPLE, (now,))
                await self._conn.execute(_KNOWN_PEOPLE, (now,))
                await self._conn.execute(_MEMBERSHIPS, (list_name, now))
            finally:
                await self._conn.execute("DROP TABLE temp.incoming")
        return report

    async def preview_add(self, list_name: str, rows: Sequence[NewMember]) -> ImportReport:
        """What `add` would change, without changing anything."""
        await self.require_list(list_name)
        report, _ = classify(await self._existing(list_name), rows)
        return report

    async def _existing(self, list_name: str) -> Existing:
        """People by address key, with their membership status on `list_name` (or None)."""
        sql = """
            SELECT p.address_key, p.name, p.lang, m.status
              FROM people p LEFT JOIN memberships m
                ON m.person_id = p.id AND m.list_name = ?
        """
        async with self._conn.execute(sql, (list_name,)) as cur:
            return {row[0]: (row[1], row[2], row[3]) for row in await cur.fetchall()}

    async def remove(self, list_name: str, address: str) -> bool:
        """Unsubscribe; returns False when the address was not subscribed."""
        await self.require_list(list_name)
        cur = await self._conn.execute(
            """UPDATE memberships SET status = 'unsubscribed', left_at = ?
                WHERE list_name = ? AND status != 'unsubscribed'
                  AND person_id = (SELECT id FROM people WHERE address_key = ?)""",
            (self._clock(), list_name, address_key(address)),
        )
        await self._conn.commit()
        return cur.rowcount > 0

    async def set_status(self, list_name: str, address: str, status: Status) -> bool:
        cur = await self._conn.execute(
            """UPDATE memberships SET status = ?,
                      left_at = CASE WHEN ? = 'active' THEN NULL ELSE ? END
                WHERE list_name = ?
                  AND person_id = (SELECT id FROM people WHERE address_key = ?)""",
            (status, status, self._clock(), list_name, address_key(address)),
        )
        await self._conn.commit()
        return cur.rowcount > 0

    async def memberships_of(self, address: str) -> list[Member]:
        """Every membership of the person at `address`, whatever its status, by list."""
        sql = f"""
            SELECT {MEMBER_COLUMNS} FROM memberships m JOIN people p ON p.id = m.person_id
             WHERE p.address_key = ? ORDER BY m.list_name
        """
        async with self._conn.execute(sql, (address_key(address),)) as cur:
            return [member_from_row(row) for row in await cur.fetchall()]
