"""Queries for lists, people and memberships."""

from __future__ import annotations

import base64
import secrets
import time
from collections.abc import Callable, Sequence

from subscribers.addresses import address_key
from subscribers.db import Connection, Row, transaction
from subscribers.models import (
    Delivery,
    ImportReport,
    Lang,
    MailingList,
    Member,
    NewMember,
    PostingPolicy,
    Status,
    Timestamp,
    chosen_delivery,
    is_list_name,
)

RECEIVERS = "receivers"  # the view of who receives a list's mail (migration 007)


class StoreError(Exception):
    """A request the store refuses: unknown list, duplicate list, bad name."""


# Read with MEMBER_FROM: a membership with its person and its delivery as it is now.
MEMBER_COLUMNS = """
    m.list_name, p.address, p.name, p.lang, m.status, d.delivery_mode, m.token,
    m.joined_at, m.left_at, d.paused_until, m.resume_mode, m.digest_format
"""
MEMBER_FROM = """
    memberships m JOIN people p ON p.id = m.person_id
    JOIN delivery_now d ON d.list_name = m.list_name AND d.person_id = m.person_id
"""


def member_from_row(row: Row) -> Member:
    """A `Member` from a row selected with `MEMBER_COLUMNS`."""
    return Member(*row)


# Address key -> (name, lang, status on this list or None, delivery on this list or None).
Existing = dict[str, tuple[str, str, str | None, Delivery | None]]


TOKEN_BYTES = 18  # a membership's token: 24 characters of URL-safe base64


def new_tokens(count: int) -> list[str]:
    """`count` unguessable membership tokens, as `secrets.token_urlsafe(TOKEN_BYTES)` makes
    them, from one read of the system's random source."""
    pool = secrets.token_bytes(TOKEN_BYTES * count)
    return [base64.urlsafe_b64encode(pool[i:i + TOKEN_BYTES]).decode("ascii")
            for i in range(0, len(pool), TOKEN_BYTES)]


NEW_DELIVERY = Delivery()  # a new membership's: each post, MIME digests if ever


def classify(existing: Existing, rows: Sequence[NewMember]
             ) -> tuple[ImportReport, list[tuple[NewMember, Delivery]]]:
    """Sort rows into added, updated and unchanged; return the report and the rows to write,
    each with the delivery it gets.

    A repeated address in `rows` counts once, with its last values.
    """
    seen = dict(existing)
    changed: dict[str, tuple[NewMember, Delivery]] = {}
    added = updated = unchanged = 0
    for row in rows:
        key = address_key(row.address)
        before = seen.get(key)
        current = before[3] if before else None
        # Most rows of an import are new members who choose nothing: the default, at once.
        delivery = (NEW_DELIVERY if current is None and row.delivery.empty
                    else chosen_delivery(current or NEW_DELIVERY, row.delivery))
        after = (row.name or (before[0] if before else ""),
                 row.lang or (before[1] if before else "en"), "active", delivery)
        if before == after:
            unchanged += 1
            continue
        if key in changed or (before is not None and before[2] is not None):
            updated += 1
        else:
            added += 1
        changed[key] = (row, delivery)
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
    INSERT INTO memberships (list_name, person_id, status, token, joined_at, delivery_mode,
                             paused_until, resume_mode, digest_format)
    SELECT ?1, p.id, 'active', i.token, ?2, i.delivery_mode, i.paused_until, i.resume_mode,
           i.digest_format
      FROM incoming i JOIN people p ON p.address_key = i.address_key WHERE true
    ON CONFLICT (list_name, person_id) DO UPDATE SET
      status = 'active', left_at = NULL,
      joined_at = CASE WHEN status = 'active' THEN joined_at ELSE excluded.joined_at END,
      delivery_mode = excluded.delivery_mode, paused_until = excluded.paused_until,
      resume_mode = excluded.resume_mode, digest_format = excluded.digest_format"""


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
            SELECT {MEMBER_COLUMNS} FROM {MEMBER_FROM}
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
                   left_at, NULL, delivery_mode, digest_format
              FROM {RECEIVERS} WHERE list_name = ? ORDER BY address_key
        """
        async with self._conn.execute(sql, (list_name,)) as cur:
            return [member_from_row(row) for row in await cur.fetchall()]

    async def find_member(self, list_name: str, address: str) -> Member | None:
        sql = f"""
            SELECT {MEMBER_COLUMNS} FROM {MEMBER_FROM}
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
                "name TEXT, lang TEXT, token TEXT, known INTEGER, delivery_mode TEXT, "
                "paused_until REAL, resume_mode TEXT, digest_format TEXT)")
            try:
                await self._conn.executemany(
                    "INSERT INTO incoming VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [(row.address, key, row.name, row.lang or "", token,
                      int(key in existing), d.mode, d.paused_until, d.resume_mode,
                      d.digest_format)
                     for (row, d), token in zip(changed, new_tokens(len(changed)), strict=True)
                     for key in (address_key(row.address),)])
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
        """People by address key, with their membership status and delivery on `list_name`
        (None when they are not members)."""
        sql = """
            SELECT p.address_key, p.name, p.lang, m.status, d.delivery_mode, d.paused_until,
                   m.resume_mode, m.digest_format
              FROM people p LEFT JOIN memberships m
                ON m.person_id = p.id AND m.list_name = ?1
              LEFT JOIN delivery_now d ON d.list_name = ?1 AND d.person_id = p.id
        """
        async with self._conn.execute(sql, (list_name,)) as cur:
            return {row[0]: (row[1], row[2], row[3],
                             None if row[3] is None else Delivery(*row[4:8]))
                    for row in await cur.fetchall()}

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
            SELECT {MEMBER_COLUMNS} FROM {MEMBER_FROM}
             WHERE p.address_key = ? ORDER BY m.list_name
        """
        async with self._conn.execute(sql, (address_key(address),)) as cur:
            return [member_from_row(row) for row in await cur.fetchall()]

    async def set_delivery(self, list_name: str, address: str, delivery: Delivery) -> bool:
        """Store how a member receives the list's posts; False when not a member."""
        cur = await self._conn.execute(
            """UPDATE memberships SET delivery_mode = ?, paused_until = ?, resume_mode = ?,
                      digest_format = ?
                WHERE list_name = ?
                  AND person_id = (SELECT id FROM people WHERE address_key = ?)""",
            (delivery.mode, delivery.paused_until, delivery.resume_mode,
             delivery.digest_format, list_name, address_key(address)),
        )
        await self._conn.commit()
        return cur.rowcount > 0

    async def set_lang(self, address: str, lang: Lang) -> bool:
        """Set a person's language (every list they are on); False for an unknown address."""
        cur = await self._conn.execute(
            "UPDATE people SET lang = ?, updated_at = ? WHERE address_key = ?",
            (lang, self._clock(), address_key(address)))
        await self._conn.commit()
        return cur.rowcount > 0
