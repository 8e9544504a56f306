"""Bring a list's history in from a mailbox file: each message read, checked, stored as an
accepted post that is never sent, and archived, in batches of one transaction each.

Idempotent by Message-ID (a message without one gets an id made from its bytes, so it
is idempotent too); a message that cannot be imported is reported with its position,
and the others are imported.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from ccrlist.archive.indexer import file_entries
from ccrlist.archive.mbox import MboxMessage, import_problem, sane_date
from ccrlist.archive.reading import read_post
from subscribers.archive import ArchiveStore
from subscribers.archive_models import ArchiveEntry
from subscribers.models import Timestamp
from subscribers.post_models import NewPost

BATCH = 500


@dataclass
class ImportReport:
    imported: int = 0
    already: int = 0  # Message-IDs the list had (or repeats in the file)
    left_out: int = 0  # X-No-Archive / X-Archive: no
    bad: list[tuple[MboxMessage, str]] = field(default_factory=list)


async def _file(store: ArchiveStore, list_name: str, source: str,
                batch: list[tuple[ArchiveEntry, bytes]], report: ImportReport) -> None:
    async with store.writing():
        ids = await store.insert_imported([
            (NewPost(list_name, e.message_id, e.author, e.subject, "", raw, "accepted",
                     f"imported from {source}"), e.date) for e, raw in batch])
        fresh = [(post_id, entry) for post_id, (entry, _) in zip(ids, batch, strict=True)
                 if post_id is not None]
        if fresh:
            await file_entries(store, list_name, fresh)
    report.imported += len(fresh)
    report.already += len(batch) - len(fresh)


async def import_mailbox(store: ArchiveStore, list_name: str, source: str,
                         messages: Iterable[MboxMessage], max_bytes: int,
                         progress: Callable[[int], None] = lambda n: None,
                         clock: Callable[[], Timestamp] = time.time) -> ImportReport:
    """Import `messages` into `list_name`'s archive; `progress` hears the bytes done.

    The next batch is read while the last one is written: SQLite works in its own thread
    without the GIL, so the two overlap on a second core.
    """
    report = ImportReport()
    writing: asyncio.Task[None] | None = None
    await store.for_bulk()

    async def file_next(batch: list[tuple[ArchiveEntry, bytes]]) -> None:
        nonlocal writing
        if writing is not None:
            await writing
        writing = asyncio.ensure_future(_file(store, list_name, source, batch, report))

    batch: list[tuple[ArchiveEntry, bytes]] = []
    now = clock()
    for message in messages:
        progress(len(message.raw))
        problem = import_problem(message, max_bytes)
        entry = read_post(message.raw, list_name, None) if not problem else None
        if entry is not None:
            date = sane_date(entry.date or None, None, now)
            if date is None:  # only then is the From_ line's date read
                date = sane_date(None, message.envelope_date, now)
            if date is None:
                problem = "it has no readable Date field, and no date in its From_ line"
            elif date != entry.date:
                entry = dataclasses.replace(entry, date=date)
        if problem or entry is None:
            report.bad.append((message, problem))
            continue
        if entry.left_out:
            report.left_out += 1
            continue
        batch.append((entry, message.raw))
        if len(batch) >= BATCH:
            await file_next(batch)
            batch = []
    if batch:
        await file_next(batch)
    if writing is not None:
        await writing
    return report
