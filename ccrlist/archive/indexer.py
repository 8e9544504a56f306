"""Fill the archive from accepted posts after their 250, beside the SMTP server, and file
batches of read posts (the indexer's and an import's) in one transaction each.

Intake only stores a post; reading it for the archive (text, threads, search) happens
here, in batches, so that ingest pays nothing for it. Every batch is one transaction
keyed by post id, so a kill at any point loses nothing: the next pass does it again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence

from ccrlist.archive.reading import read_post
from ccrlist.archive.threads import place
from subscribers.archive import ArchiveStore
from subscribers.archive_models import ArchiveEntry
from subscribers.post_models import StoredPost

log = logging.getLogger("ccrlist.archive")

SETTLE_SECONDS = 0.2
# When a pass finds this many posts the server is busy: the next waits BUSY_SETTLE_SECONDS,
# so that under a flood the archive takes fewer, larger turns at the database.
BUSY_POSTS = 50
BUSY_SETTLE_SECONDS = 1.0
BATCH = 200
# Posts are filed in the archive when intake is quiet: filing (the search index above all)
# holds the database's write turn, which SMTP sessions wait for before their 250. So under
# a flood it waits, for QUIET_SECONDS without a new post, but never longer than
# MAX_DEFER_SECONDS: the archive lags a flood by seconds rather than slow it down.
QUIET_SECONDS = 0.25
MAX_DEFER_SECONDS = 10.0


async def file_entries(store: ArchiveStore, list_name: str,
                       entries: Sequence[tuple[int, ArchiveEntry]]) -> None:
    """Thread a batch of one list's read posts and write it (call inside `store.writing`)."""
    facts = await store.threading_facts(list_name, [e for _, e in entries])
    plan = place(entries, facts)
    await store.add(list_name, entries, [p.parent_id for p in plan.placements],
                    [p.thread_id for p in plan.placements], plan.merges, plan.adopted)


def read_for_archive(post: StoredPost) -> ArchiveEntry:
    return read_post(post.raw, post.list_name, post.received_at)


class Indexer:
    """Archives accepted posts; `wake()` after a commit, or it looks every `poll` seconds
    (posts approved by `ccrlist held approve` in another process)."""

    def __init__(self, store: ArchiveStore,
                 read: Callable[[StoredPost], ArchiveEntry] = read_for_archive,
                 quiet: Callable[[float], bool] = lambda seconds: True) -> None:
        self._store = store
        self._read = read
        self._quiet = quiet  # has intake been quiet for so many seconds?
        self._wake = asyncio.Event()

    async def _until_quiet(self, stop: asyncio.Event) -> None:
        """Wait until intake has been quiet for QUIET_SECONDS, or MAX_DEFER_SECONDS."""
        waited = 0.0
        while not stop.is_set() and not self._quiet(QUIET_SECONDS) and \
                waited < MAX_DEFER_SECONDS:
            await asyncio.sleep(QUIET_SECONDS / 2)
            waited += QUIET_SECONDS / 2

    def wake(self) -> None:
        self._wake.set()

    async def index_pending(self) -> int:
        """Archive every accepted post not yet looked at; return how many were read."""
        done = 0
        while not (pending := await self._store.pending(BATCH)).empty:
            by_list: dict[str, list[tuple[int, ArchiveEntry]]] = {}
            left_out: list[int] = []
            for post in pending.posts:
                try:
                    entry = self._read(post)
                except Exception:  # a bug, not the post's fault; it must not stop the rest
                    log.exception("cannot read %s for the archive; left out", post.permalink)
                    left_out.append(post.id)
                    continue
                if entry.left_out:
                    left_out.append(post.id)
                else:
                    by_list.setdefault(post.list_name, []).append((post.id, entry))
            async with self._store.writing():  # the batch, the mark and the queue at once
                for list_name, entries in by_list.items():
                    await file_entries(self._store, list_name, entries)
                await self._store.done(pending, left_out)
            done += len(pending.posts)
            if pending.posts:
                log.info("archived %d post(s)", len(pending.posts) - len(left_out))
        return done

    async def run_forever(self, stop: asyncio.Event, poll: float = 5.0) -> None:
        while not stop.is_set():
            self._wake.clear()
            read = 0
            try:
                await self._until_quiet(stop)
                read = await self.index_pending()
            except Exception:
                log.exception("archiving failed; trying again in %s s", poll)
            waiters = [asyncio.ensure_future(self._wake.wait()),
                       asyncio.ensure_future(stop.wait())]
            await asyncio.wait(waiters, timeout=poll, return_when=asyncio.FIRST_COMPLETED)
            for w in waiters:
                w.cancel()
            if not stop.is_set():  # let posts arriving together gather
                await asyncio.sleep(BUSY_SETTLE_SECONDS if read >= BUSY_POSTS
                                    else SETTLE_SECONDS)
