"""The archive across a crash: `ccrlist serve` killed with SIGKILL while it archives, then
restarted. Every accepted post ends up archived exactly once, threads, month counts and
the search index agree with the posts."""

from __future__ import annotations

import asyncio

from aiosmtpd.controller import Controller
from ccrlist_helpers import RecordingRelay, add_members, message, rows, wait_until
from test_ccrlist_crash import MEMBERS, kill, post, spawn, write_config

from ccrlist.config.loader import load_settings


async def test_kill_while_archiving_then_restart(tmp_path, relay: RecordingRelay,  # type: ignore[no-untyped-def]
                                                 controller: Controller) -> None:
    relay.delay = 0.0
    config, port = write_config(tmp_path, controller.port)
    settings = load_settings(config)
    await add_members(settings, MEMBERS[:2])
    proc = spawn(config, port, tmp_path / "serve.log")
    sent = 40
    try:
        results = await asyncio.gather(*(post(port, message(
            author="m000@example.org", message_id=f"<c{i}@example.org>",
            subject="Re: crash" if i % 3 else "crash",
            extra=f"In-Reply-To: <c{i - 1}@example.org>\r\n" if i else "")) for i in range(sent)))
    finally:
        kill(proc)  # at once after the last 250: the indexer is at work or about to be
    assert results == [250] * sent
    proc = spawn(config, port, tmp_path / "serve.log")
    try:
        async def all_archived() -> bool:
            [(n,)] = await rows(settings, "SELECT count(*) FROM archive")
            return int(n) == sent

        await wait_until(all_archived, timeout=20, what="every post archived after restart")
    finally:
        kill(proc)
    [(posts, ids, search, threads, months, pending)] = await rows(settings, """
        SELECT (SELECT count(*) FROM archive), (SELECT count(DISTINCT message_id) FROM archive),
               (SELECT count(*) FROM archive_search),
               (SELECT sum(posts) FROM archive_threads), (SELECT sum(posts) FROM archive_months),
               (SELECT count(*) FROM posts p WHERE NOT EXISTS
                    (SELECT 1 FROM archive a WHERE a.post_id = p.id))""")
    assert (posts, ids, search, threads, months, pending) == (sent, sent, sent, sent, sent, 0)
    [(in_one_thread,)] = await rows(settings, "SELECT count(DISTINCT thread_id) FROM archive")
    assert in_one_thread == 1  # each post answers the one before
