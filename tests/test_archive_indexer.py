"""The archive's indexer gives way to intake: under a flood it files nothing until intake is
quiet (or it has waited MAX_DEFER_SECONDS), on a real SQLite file."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from ccrlist_helpers import message, wait_until

from ccrlist.archive import indexer as indexing
from ccrlist.archive.indexer import Indexer
from subscribers.archive import ArchiveStore
from subscribers.db import open_database
from subscribers.post_models import NewPost
from subscribers.posts import PostStore


async def test_filing_waits_for_intake_to_be_quiet(tmp_path: Path) -> None:
    conn = await open_database(tmp_path / "ccr.sqlite3")
    try:
        await PostStore(conn).store_batch([NewPost(
            "ccrlist", "<m1@example.org>", "alice@example.org", "Hello", "alice@example.org",
            message(), "accepted")])
        asked: list[float] = []
        busy = True

        def quiet(seconds: float) -> bool:
            asked.append(seconds)
            return not busy

        async def archived() -> bool:
            rows = await conn.execute_fetchall("SELECT count(*) FROM archive")
            return bool(next(iter(rows))[0])

        async def looked_thrice() -> bool:
            return len(asked) >= 3

        stop = asyncio.Event()
        task = asyncio.create_task(Indexer(ArchiveStore(conn), quiet=quiet).run_forever(stop))
        try:
            # It has looked at intake several times: the post would be filed by now.
            await wait_until(looked_thrice, what="the indexer to look at intake")
            assert not await archived()
            busy = False
            await wait_until(archived, what="the post filed once intake is quiet")
            assert asked[0] == indexing.QUIET_SECONDS
        finally:
            stop.set()
            await asyncio.wait_for(task, 10)
    finally:
        await conn.close()


async def test_a_long_flood_does_not_keep_the_archive_waiting_for_ever(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    conn = await open_database(tmp_path / "ccr.sqlite3")
    try:
        await PostStore(conn).store_batch([NewPost(
            "ccrlist", "<m1@example.org>", "alice@example.org", "Hello", "alice@example.org",
            message(), "accepted")])
        monkeypatch.setattr(indexing, "MAX_DEFER_SECONDS", 0.5)  # the bound, made short
        stop = asyncio.Event()
        task = asyncio.create_task(
            Indexer(ArchiveStore(conn), quiet=lambda seconds: False).run_forever(stop))

        async def archived() -> bool:
            rows = await conn.execute_fetchall("SELECT count(*) FROM archive")
            return bool(next(iter(rows))[0])

        try:
            await wait_until(archived, what="the post filed despite the flood")
        finally:
            stop.set()
            await asyncio.wait_for(task, 10)
    finally:
        await conn.close()
