"""Expand accepted posts into per-recipient deliveries.

Runs beside the SMTP server; every step is a transaction of its own in the
store, so it can be killed at any point and simply runs again on restart.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from ccrlist.conditions import log_trouble
from ccrlist.config.settings import Settings
from ccrlist.copies.list_copy import list_headers, rewrite
from ccrlist.copies.mode import copy_mode
from ccrlist.delivery.tokens import new_slot
from ccrlist.names import bounce_address
from subscribers.post_models import ListCopy, StoredPost
from subscribers.posts import PostStore

log = logging.getLogger("ccrlist.fanout")

Clock = Callable[[], float]
# Posts arriving together are expanded together: fewer, larger writes leave more
# turns at the database to the SMTP sessions, at the cost of this much fan-out delay.
SETTLE_SECONDS = 0.25
EXPAND_BATCH = 100


class Expander:
    """Turns accepted posts into queued deliveries, then wakes the delivery worker."""

    def __init__(self, posts: PostStore, settings: Settings, on_queued: Callable[[], None],
                 clock: Clock = time.time) -> None:
        self._posts = posts
        self._settings = settings
        self._on_queued = on_queued
        self._clock = clock
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def expand_pending(self) -> int:
        """Expand every accepted post not yet queued; return how many."""
        done = 0
        while batch := await self._posts.to_expand(limit=EXPAND_BATCH):
            items = []
            for post in batch:
                try:
                    items.append(self.list_copy(post))
                except Exception as exc:
                    # A post we cannot render must not stop every later one: it waits
                    # for a moderator, who can approve it again once we are fixed.
                    log.exception("cannot make the list copy of %s; held", post.permalink)
                    await self._posts.hold_unexpanded(
                        post.id, f"the list copy could not be made ({type(exc).__name__}); "
                        "see the server log")
            if items:
                added = await self._posts.expand(
                    items, lambda name: bounce_address(name, self._settings.domain),
                    self._clock())
                log.info("queued %d post(s), %d deliveries and digest items: %s", len(items),
                         added, ", ".join(item.post.permalink for item in items))
                if added:
                    self._on_queued()
            done += len(batch)
            if len(batch) < EXPAND_BATCH:
                break  # the rest arrived meanwhile: let it gather (run_forever settles)
        return done

    def list_copy(self, post: StoredPost) -> ListCopy:
        """The copy subscribers get, rendered once; personalised ones hold the token slot."""
        mode = copy_mode(post.id, self._settings.delivery, self._settings.bounces)
        slot = new_slot()  # the post's own text must never be able to hold the slot
        info = list_headers(post.list_name, self._settings, mode.personalised, slot,
                            permalink=post.permalink)
        return ListCopy(post, rewrite(post.raw, info, post.author, post.dmarc_policy),
                        mode.personalised, mode.verp, slot)

    async def run_forever(self, stop: asyncio.Event, poll: float = 5.0) -> None:
        """Expand until `stop`, waking on `wake()` or every `poll` seconds (a post approved
        through another process is seen at the next poll)."""
        while not stop.is_set():
            self._wake.clear()
            await asyncio.sleep(SETTLE_SECONDS)
            try:
                await self.expand_pending()
            except Exception as exc:
                log_trouble(log, exc, "expansion pass failed; trying again in %g s", poll)
            waiters = [asyncio.ensure_future(self._wake.wait()),
                       asyncio.ensure_future(stop.wait())]
            await asyncio.wait(waiters, timeout=poll, return_when=asyncio.FIRST_COMPLETED)
            for w in waiters:
                w.cancel()
