"""Tell list owners by mail about held posts (with the code that decides them by reply) and
about posts whose deliveries failed (one summary per post).

Runs beside the delivery worker in `ccrlist serve`. Each notice is queued in the same
transaction that records it as sent, so a crash at any point neither loses nor repeats
one.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence

from ccrlist.catalogue import messages
from ccrlist.conditions import log_trouble
from ccrlist.config.settings import Settings
from ccrlist.moderation.decision import code_hash, new_code
from ccrlist.moderation.owner_mail import failure_summary, held_notice
from ccrlist.names import bounce_address, owner_addresses
from subscribers.db import Connection
from subscribers.failure_reports import FailureReports
from subscribers.models import Lang
from subscribers.moderation import ModerationStore, OwnerNotice
from subscribers.owners import OwnerStore

log = logging.getLogger("ccrlist.owners")

Clock = Callable[[], float]


def by_language(owners: Sequence[tuple[str, Lang]]) -> list[tuple[Lang, tuple[str, ...]]]:
    """Owners grouped by the language they read, English first: one notice per group."""
    groups: dict[Lang, list[str]] = {}
    for address, lang in owners:
        groups.setdefault(lang, []).append(address)
    return [(lang, tuple(groups[lang])) for lang in ("en", "fr") if lang in groups]


async def owners_by_language(conn: Connection, list_name: str,
                             settings: Settings) -> list[tuple[Lang, tuple[str, ...]]]:
    """Who reads a list's owner notices, by language: the owners in the database, else
    `[posting] owners`, else `<list>-owner@` (the last two in English)."""
    stored = await OwnerStore(conn).owners_with_lang(list_name)
    if stored:
        return by_language(stored)
    return [("en", owner_addresses(list_name, settings))]


class OwnerNotifier:
    """Queues owners' notices over its own connection, then wakes the delivery worker."""

    def __init__(self, conn: Connection, settings: Settings, on_queued: Callable[[], None],
                 write_lock: asyncio.Lock | None = None, clock: Clock = time.time) -> None:
        self._conn = conn
        self._settings = settings
        self._on_queued = on_queued
        self._clock = clock
        self._moderation = ModerationStore(conn, write_lock)
        self._failures = FailureReports(conn, write_lock)
        self._wake = asyncio.Event()
        self._first_pass_running = False  # a post's failures wait for its first pass

    def wake(self) -> None:
        """A post was held or a delivery failed: look now rather than at the next poll."""
        self._wake.set()

    async def _owners(self, list_name: str) -> list[tuple[Lang, tuple[str, ...]]]:
        return await owners_by_language(self._conn, list_name, self._settings)

    async def announce_held(self) -> int:
        """Send the owners one notice for each newly held post; return how many posts."""
        done = 0
        domain = self._settings.domain
        for post in await self._moderation.unannounced():
            code, now = new_code(), self._clock()
            notices = [OwnerNotice(held_notice(text=messages(lang), post=post, owners=owners,
                                               domain=domain, code=code, now=now), owners)
                       for lang, owners in await self._owners(post.list_name)]
            if await self._moderation.announce(post, code_hash(code),
                                               bounce_address(post.list_name, domain),
                                               notices, now):
                done += 1
                log.info("post %d (%s) held (%s): owners told (%s)", post.id, post.permalink,
                         post.reason, ", ".join(o for n in notices for o in n.recipients))
        if done:
            self._on_queued()
        return done

    async def summarise_failures(self) -> int:
        """Send the owners one summary per post whose failed deliveries they have not heard
        about; return how many posts."""
        items, self._first_pass_running = await self._failures.due()
        domain = self._settings.domain
        for item in items:
            now = self._clock()
            notices = [OwnerNotice(failure_summary(text=messages(lang), item=item,
                                                   owners=owners, domain=domain,
                                                   bounces=self._settings.bounces, now=now),
                                   owners)
                       for lang, owners in await self._owners(item.post.list_name)]
            await self._failures.report(item, bounce_address(item.post.list_name, domain),
                                        notices, now)
            log.warning("post %d (%s): %d of %d deliveries failed; owners told",
                        item.post.id, item.post.permalink, len(item.failures), item.recipients)
        if items:
            self._on_queued()
        return len(items)

    async def run_forever(self, stop: asyncio.Event, poll: float = 5.0,
                          soon: float = 1.0) -> None:
        """Look for held posts and failed deliveries until `stop`, on `wake()` or every
        `poll` seconds (a post held through another process is seen at the next poll), or
        after `soon` seconds while a post with failures is still in its first pass."""
        while not stop.is_set():
            self._wake.clear()
            try:
                await self.announce_held()
                await self.summarise_failures()
            except Exception as exc:
                log_trouble(log, exc, "owners' notices not sent; trying again in %g s", poll)
            waiters = [asyncio.ensure_future(self._wake.wait()),
                       asyncio.ensure_future(stop.wait())]
            await asyncio.wait(waiters, timeout=soon if self._first_pass_running else poll,
                               return_when=asyncio.FIRST_COMPLETED)
            for w in waiters:
                w.cancel()
