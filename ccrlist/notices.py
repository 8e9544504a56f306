"""Queue the mail the list server writes itself (confirmations, replies, owner notices), and
find who reads a list's owner mail."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ccrlist.config.settings import Settings
from ccrlist.names import bounce_address, owner_addresses
from subscribers.db import Connection
from subscribers.owners import OwnerStore
from subscribers.post_models import Recipient
from subscribers.queue import QueueStore

Clock = Callable[[], float]


@dataclass(frozen=True)
class Notices:
    """Notices are queued for delivery like any copy, from `<list>-bounces@`."""

    conn: Connection
    settings: Settings
    clock: Clock = time.time

    async def queue(self, list_name: str, ref: str, body: bytes,
                    recipients: Sequence[str]) -> None:
        """Queue `body` for `recipients` once: the same `ref` again adds nobody twice."""
        await QueueStore(self.conn).enqueue(
            list_name=list_name, source="notice", source_ref=ref,
            sender=bounce_address(list_name, self.settings.domain), body=body,
            recipients=[Recipient(r) for r in recipients], now=self.clock())

    async def owners(self, list_name: str) -> tuple[str, ...]:
        """The list's owners from the database, else `[posting] owners`, else `<list>-owner@`."""
        stored = await OwnerStore(self.conn).owners(list_name)
        return tuple(stored) or owner_addresses(list_name, self.settings)

    async def site_owners(self) -> tuple[str, ...]:
        """Who reads `postmaster@` and `abuse@`: `[posting] owners`, else every list's owners
        in the database (possibly nobody)."""
        return self.settings.posting.owners or tuple(await OwnerStore(self.conn).everyone())
