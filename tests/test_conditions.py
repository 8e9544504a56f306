"""Readable logs: known conditions (a full disk, a relay that is down) are one line with the
reason and never a traceback; a bug keeps its traceback; `-q` logs only problems."""

from __future__ import annotations

import asyncio
import errno
import logging
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import dns.exception
import pytest
from aiosmtpd.controller import Controller
from ccrlist_helpers import (
    DOMAIN,
    VERP_KEY,
    RecordingRelay,
    add_members,
    free_port,
    make_settings,
    message,
    send,
    start_relay,
    wait_for,
)
from test_ccrlist_crash import write_config

from ccrlist.commands.verbosity import level_for
from ccrlist.conditions import Outage, TransportUnavailable, known_condition, log_trouble
from ccrlist.config.settings import Settings
from ccrlist.delivery.transport import make_transport
from ccrlist.delivery.worker import DeliveryWorker
from ccrlist.intake import replies
from ccrlist.intake.handler import ListHandler, PostWriter
from ccrlist.intake.protocol import ListSMTP
from subscribers.db import Connection, open_database
from subscribers.post_models import Recipient
from subscribers.posts import PostStore
from subscribers.queue import QueueStore

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(("exc", "reason"), [
    (sqlite3.OperationalError("database or disk is full"), "database: database or disk is full"),
    (sqlite3.OperationalError("database is locked"), "database: database is locked"),
    (sqlite3.OperationalError("disk I/O error"), "database: disk I/O error"),
    (sqlite3.OperationalError("no such table: postz"), None),  # our SQL: a bug
    (sqlite3.IntegrityError("UNIQUE constraint failed"), None),
    (OSError(errno.ENOSPC, "No space left on device", "/var/ccr/outbox/new/1"),
     "No space left on device: /var/ccr/outbox/new/1"),
    (OSError(errno.EROFS, "Read-only file system"), "Read-only file system"),
    (TransportUnavailable("Connection refused"), "relay unavailable: Connection refused"),
    (ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused"),
     "network: [Errno 111] Connection refused"),
    (TimeoutError(), "network: TimeoutError"),
    (dns.exception.Timeout(), "DNS timed out"),
    (socket.gaierror(-2, "Name or service not known"),
     "name lookup failed: [Errno -2] Name or service not known"),
    (KeyError("x"), None),
    (ValueError("bad"), None),
    (OSError(errno.ENOENT, "No such file or directory"), None),
])
def test_known_conditions(exc: BaseException, reason: str | None) -> None:
    assert known_condition(exc) == reason


def test_a_known_condition_is_one_line_and_a_bug_keeps_its_traceback(
        caplog: pytest.LogCaptureFixture) -> None:
    log = logging.getLogger("ccrlist.test")
    caplog.set_level(logging.DEBUG, logger="ccrlist.test")
    log_trouble(log, sqlite3.OperationalError("database or disk is full"), "post %s", "<a@b>")
    log_trouble(log, ZeroDivisionError("division by zero"), "pass failed")
    [full, details, bug] = caplog.records
    assert (full.levelno, full.getMessage(), full.exc_info) == (
        logging.ERROR, "post <a@b>: database: database or disk is full", None)
    assert details.levelno == logging.DEBUG and details.exc_info is not None
    assert bug.levelno == logging.ERROR and bug.exc_info is not None
    assert bug.getMessage() == "pass failed (unexpected error)"


def test_an_outage_is_one_line_when_it_starts_and_one_when_it_ends(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="ccrlist.test")
    outage = Outage(logging.getLogger("ccrlist.test"), "relay")
    outage.answered()
    for _ in range(3):
        outage.failed("Connection refused")
    outage.answered()
    outage.answered()
    shown = [(r.levelno, r.getMessage()) for r in caplog.records if r.levelno > logging.DEBUG]
    assert shown == [
        (logging.WARNING, "relay unavailable: Connection refused; deliveries wait and are "
                          "retried"),
        (logging.WARNING, "relay answers again (3 attempt(s) failed meanwhile)")]


@pytest.mark.parametrize(("verbosity", "serving", "level"), [
    (-1, False, logging.WARNING), (-1, True, logging.WARNING),
    (0, False, logging.WARNING), (0, True, logging.INFO),
    (1, False, logging.INFO), (1, True, logging.INFO),
    (2, False, logging.DEBUG), (3, True, logging.DEBUG),
])
def test_verbosity_levels(verbosity: int, serving: bool, level: int) -> None:
    assert level_for(verbosity, serving) == level


@pytest.fixture
async def conns(tmp_path: Path) -> AsyncIterator[tuple[Settings, Connection, Connection]]:
    settings = make_settings(tmp_path, None)
    await add_members(settings, ["alice@example.org"])
    reader = await open_database(settings.database_path)
    writer = await open_database(settings.database_path)
    yield settings, reader, writer
    await reader.close()
    await writer.close()


async def stored(conn: Connection) -> int:
    [(count,)] = await conn.execute_fetchall("SELECT count(*) FROM posts")
    return int(count)


async def test_a_full_disk_refuses_posts_with_451_in_one_line_and_recovers(
        conns: tuple[Settings, Connection, Connection],
        caplog: pytest.LogCaptureFixture) -> None:
    """A real "database or disk is full": SQLite may not grow the file past its size now
    (`PRAGMA max_page_count`), so the next post cannot be stored."""
    settings, reader, writer = conns
    caplog.set_level(logging.INFO, logger="ccrlist")
    handler = ListHandler(settings, PostStore(reader), PostWriter(PostStore(writer)),
                          lambda: None)
    server = await asyncio.get_running_loop().create_server(
        lambda: ListSMTP(handler, hostname=DOMAIN), host="127.0.0.1", port=0)
    port = server.sockets[0].getsockname()[1]
    try:
        [(pages,)] = await writer.execute_fetchall("PRAGMA page_count")
        await writer.execute(f"PRAGMA max_page_count = {pages}")
        post = message(body="A long report.\r\n" * 2000)  # needs new pages
        for _ in range(3):
            assert "%s %s" % await send(port, post) == replies.INTERNAL_ERROR
        ours = [r for r in caplog.records if r.name.startswith("ccrlist")]
        problems = [r for r in ours if r.levelno >= logging.WARNING]
        assert [r.getMessage() for r in problems] == [
            "DATA from <alice@example.org>: answered 451, nothing stored: database: "
            "database or disk is full"] * 3
        assert all(r.exc_info is None for r in ours)
        assert await stored(reader) == 0
        # Space again: the sender's retry is accepted (not a duplicate: nothing was stored).
        await writer.execute("PRAGMA max_page_count = 1073741823")
        assert "%s %s" % await send(port, post) == replies.ACCEPTED
        assert await stored(reader) == 1
    finally:
        server.close()
        await server.wait_closed()


async def test_a_relay_that_is_down_is_one_line_not_one_per_batch(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    port = free_port()
    settings = make_settings(tmp_path, port)
    conn = await open_database(settings.database_path)
    controller: Controller | None = None
    try:
        queue = QueueStore(conn)
        await queue.enqueue(list_name="ccrlist", source="post", source_ref="p1",
                            sender=f"ccrlist-bounces@{DOMAIN}", body=b"Subject: t\r\n\r\nhi\r\n",
                            personalised=True, now=time.time(),
                            recipients=[Recipient(f"m{i}@example.org", f"t{i}")
                                        for i in range(12)])
        caplog.set_level(logging.INFO, logger="ccrlist")
        worker = DeliveryWorker(queue, make_transport(settings), settings.delivery,
                                verp_key=VERP_KEY)
        report = await worker.run_until_idle()
        assert report.deferred == 12
        down = [r for r in caplog.records
                if r.levelno >= logging.WARNING and r.name.startswith("ccrlist")]
        assert len(down) == 1 and down[0].exc_info is None
        assert down[0].getMessage().startswith("relay unavailable: ")
        relay = RecordingRelay()
        controller = start_relay(relay, port)
        await conn.execute("UPDATE deliveries SET next_try_at = 0")
        assert (await worker.run_until_idle()).sent == 12
        up = [r.getMessage() for r in caplog.records
              if r.levelno >= logging.WARNING and r.name.startswith("ccrlist")][1:]
        assert up == ["relay answers again (12 attempt(s) failed meanwhile)"]
    finally:
        if controller is not None:
            controller.stop()
        await conn.close()


@pytest.mark.parametrize(("option", "progress"), [("-q", False), (None, True)])
async def test_serve_logs_progress_unless_quiet(tmp_path: Path, relay: RecordingRelay,
                                                controller: Controller, option: str | None,
                                                progress: bool) -> None:
    config, port = write_config(tmp_path, controller.port)
    log = tmp_path / "serve.log"
    await add_members(make_settings(tmp_path, controller.port), ["m000@example.org"])
    args = [sys.executable, str(ROOT / "cli.py"), "--config", str(config),
            *([option] if option else []), "serve"]
    with log.open("wb") as err:
        proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=err)
    try:
        await wait_for(lambda: "serving SMTP" in log.read_text(), timeout=15, what="serve")
        assert "%s %s" % await send(port, message(author="m000@example.org"),
                                    sender="m000@example.org") == replies.ACCEPTED
        await wait_for(lambda: relay.recipients() == ["m000@example.org"], what="the copy")
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    text = log.read_text()
    assert "ccrlist stopped" in text  # problems and notices still show
    assert (" INFO post <m1@example.org> to ccrlist from m000@example.org" in text) == progress
    assert (" INFO " in text) == progress
