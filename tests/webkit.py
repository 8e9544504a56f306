"""Test helpers for the web and mail-command tests: a settable clock and queued-mail readers."""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass
from email.message import EmailMessage

from ccrlist.admin.handler import AdminContext, handle_admin_message
from ccrlist.config.secret import load_or_create_secret
from ccrlist.config.settings import Settings
from ccrlist.delivery.verp import verp_key
from ccrlist.names import parse_admin_local
from subscribers.db import Connection

START = 1_750_000_000.0


async def admin_mail(local_part: str, envelope_from: str, raw: bytes,
                     ctx: AdminContext) -> str:
    """What `ccrlist serve` answers to DATA for mail to `<local_part>@` (an admin address)."""
    target = parse_admin_local(local_part)
    assert target is not None, f"{local_part} is not an admin address"
    return await handle_admin_message(target, envelope_from, raw, ctx)


def installation_verp_key(settings: Settings) -> bytes:
    """The key `ccrlist serve` signs VERP senders with, from the secret in `data_dir`."""
    return verp_key(load_or_create_secret(settings.data_dir))


@dataclass
class FakeClock:
    now: float = START

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


async def queued(conn: Connection, source: str = "notice") -> list[tuple[EmailMessage, list[str]]]:
    """Every queued message of `source` with its recipients, oldest first."""
    found: list[tuple[EmailMessage, list[str]]] = []
    async with conn.execute(
        "SELECT id, body FROM outgoing WHERE source = ? ORDER BY id", (source,)
    ) as cur:
        rows = list(await cur.fetchall())
    for row in rows:
        async with conn.execute(
            "SELECT recipient FROM deliveries WHERE outgoing_id = ? ORDER BY recipient",
            (row[0],),
        ) as cur:
            rcpts = [str(r[0]) for r in await cur.fetchall()]
        msg = email.message_from_bytes(bytes(row[1]), policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        found.append((msg, rcpts))
    return found


def text_of(msg: EmailMessage) -> str:
    part = msg.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def confirm_token(msg: EmailMessage) -> str:
    match = re.search(r"/confirm/([A-Za-z0-9_-]+)", text_of(msg))
    assert match, text_of(msg)
    return match.group(1)


async def status_of(conn: Connection, list_name: str, address: str) -> str | None:
    async with conn.execute(
        """SELECT m.status FROM memberships m JOIN people p ON p.id = m.person_id
            WHERE m.list_name = ? AND p.address_key = ?""", (list_name, address.casefold())
    ) as cur:
        row = await cur.fetchone()
    return None if row is None else str(row[0])
