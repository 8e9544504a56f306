"""One sender per database: `chronicle publish` while `ccrlist serve` runs sends each copy
once (before the sender lock, 330 of 400 subscribers got two), a crashed sender hands over
to the one that waits, and `serve` waits while another process sends.

Real processes throughout: `ccrlist serve` and `chronicle publish` as subprocesses, a
process that holds the lock and is killed with SIGKILL, and a recording relay.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sqlite3
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from ccrlist_helpers import (
    DOMAIN,
    RecordingRelay,
    add_members,
    free_port,
    make_settings,
    message,
    rows,
    send,
    wait_for,
    wait_until,
    write_serve_config,
)
from test_ccrlist_crash import spawn
from test_ccrlist_serve import unprivileged

from ccrlist.config.loader import load_settings
from ccrlist.config.settings import Settings
from ccrlist.delivery.sender_lock import SenderLock, lock_path
from echronicle.sending import follow
from subscribers.db import open_database
from subscribers.post_models import Recipient
from subscribers.queue import QueueStore

ROOT = Path(__file__).resolve().parent.parent
READERS = [f"reader{i:03d}@example.org" for i in range(80)]
MEMBERS = ["alice@example.org", "bob@example.org", "carol@example.org"]


def write_config(tmp_path: Path, relay_port: int) -> tuple[Path, int]:
    return write_serve_config(
        tmp_path, relay_port, top=f'issues_dir = "{ROOT / "issues"}"',
        more=f'[site]\noutput_dir = "{tmp_path / "site"}"')


def publish(config: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", "import cli; cli.chronicle_main()",
                             "--config", str(config), "publish", "vol12-2"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)


def copies(relay: RecordingRelay) -> Counter[str]:
    with relay.lock:
        return Counter(rcpt for m in relay.messages for rcpt in m.rcpt_tos)


@contextmanager
def lock_holder(settings: Settings) -> Iterator[subprocess.Popen[str]]:
    """Another process that holds the sender lock until it is killed."""
    code = ("import sys, time\n"
            "from pathlib import Path\n"
            "from ccrlist.delivery.sender_lock import SenderLock\n"
            "lock = SenderLock(Path(sys.argv[1]), 'a test sender')\n"
            "assert lock.acquire()\n"
            "print('held', flush=True)\n"
            "time.sleep(120)\n")
    proc = subprocess.Popen([sys.executable, "-c", code, str(settings.database_path)],
                            cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "held\n"
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)


async def pending(settings: Settings, list_name: str) -> int:
    [(count,)] = await rows(settings, """
        SELECT count(*) FROM deliveries d JOIN outgoing o ON o.id = d.outgoing_id
         WHERE o.list_name = ? AND d.status = 'pending'""", list_name)
    return int(count)


def test_a_second_lock_on_the_same_database_waits_for_the_first(tmp_path: Path) -> None:
    database = tmp_path / "ccr.sqlite3"
    first, second = SenderLock(database, "ccrlist serve"), SenderLock(database, "publish")
    assert first.acquire() and first.acquire()  # taking it again is a no-op
    assert not second.acquire()
    assert second.holder().startswith("ccrlist serve (pid ")
    first.release()
    assert second.acquire() and second.held
    assert lock_path(database) == tmp_path / "ccr.sqlite3-sender.lock"
    second.release()


async def test_publish_while_serve_runs_sends_each_copy_once(
        tmp_path: Path, relay: RecordingRelay, controller: Controller) -> None:
    relay.delay = 0.1  # a relay that takes its time: serve notices the queued issue meanwhile
    config, port = write_config(tmp_path, controller.port)
    settings = load_settings(config)
    await add_members(settings, READERS, "echronicle")
    serve = spawn(config, port, tmp_path / "serve.log")
    try:
        proc = publish(config)
        out, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0, out
        await wait_until(lambda: _pending_is(settings, "echronicle", 0), 30, "every copy sent")
        assert copies(relay) == Counter(READERS)  # every reader, once
        assert f"ccrlist serve (pid {serve.pid}) is sending from this database" in out
        assert f"Sent {len(READERS)}, deferred 0, failed 0" in out
    finally:
        serve.send_signal(signal.SIGTERM)
        assert serve.wait(timeout=30) == 0
    assert "Traceback" not in (tmp_path / "serve.log").read_text()


async def test_when_the_sender_dies_publish_sends_the_rest_itself(
        tmp_path: Path, relay: RecordingRelay, controller: Controller) -> None:
    config, _ = write_config(tmp_path, controller.port)
    settings = load_settings(config)
    await add_members(settings, READERS, "echronicle")
    with lock_holder(settings) as holder:
        proc = publish(config)
        try:
            # Queued, and nobody sends: the holder sends nothing, publish waits for it.
            await wait_until(lambda: _all_pending(settings), 60, "the issue to be queued")
            assert copies(relay) == Counter()
            holder.send_signal(signal.SIGKILL)  # the kernel releases its lock
            out, _ = proc.communicate(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 0, out
    assert "a test sender (pid " in out
    assert f"Sent {len(READERS)}, deferred 0, failed 0" in out
    assert copies(relay) == Counter(READERS)


async def _all_pending(settings: Settings) -> bool:
    if not settings.database_path.exists():
        return False
    try:
        return await pending(settings, "echronicle") == len(READERS)
    except sqlite3.OperationalError:  # no tables yet: publish has not migrated the database
        return False


async def test_serve_waits_while_another_process_sends_then_takes_over(
        tmp_path: Path, relay: RecordingRelay, controller: Controller) -> None:
    config, port = write_config(tmp_path, controller.port)
    settings = load_settings(config)
    await add_members(settings, MEMBERS)
    log = tmp_path / "serve.log"
    with lock_holder(settings) as holder:
        serve = spawn(config, port, log)
        try:
            await wait_for(lambda: "delivery starts when it is done" in log.read_text(), 30,
                           "serve to say that it waits")
            assert ("a test sender (pid " + str(holder.pid) + ") is sending from this "
                    "database: delivery starts when it is done") in log.read_text()
            code, _ = await send(port, message(), sender="alice@example.org")
            assert code == 250
            # The post is stored and expanded, its copies wait: this server does not send.
            await wait_until(lambda: _pending_is(settings, "ccrlist", len(MEMBERS)), 30,
                             "the post's copies to be queued")
            assert copies(relay) == Counter()
            holder.send_signal(signal.SIGKILL)
            await wait_for(lambda: copies(relay) == Counter(MEMBERS), 30,
                           "serve to send once the lock is free")
        finally:
            serve.send_signal(signal.SIGTERM)
            assert serve.wait(timeout=30) == 0
    text = log.read_text()
    assert "delivery starts: this server now sends from the queue" in text
    assert "Traceback" not in text


async def _pending_is(settings: Settings, list_name: str, count: int) -> bool:
    return await pending(settings, list_name) == count



async def test_publish_stops_following_a_sender_that_sends_nothing(tmp_path: Path) -> None:
    """A sender stopped with SIGSTOP, or stuck on a relay, sends nothing: publish stops
    following after its patience, and the copies stay queued for that sender."""
    settings = make_settings(tmp_path, free_port())
    conn = await open_database(settings.database_path)
    try:
        queue = QueueStore(conn)
        queued = await queue.enqueue(
            list_name="echronicle", source="issue", source_ref="vol12-2:en",
            sender=f"echronicle-bounces@{DOMAIN}", body=message(),
            recipients=[Recipient(a, f"t{i}") for i, a in enumerate(READERS[:5])])
        with lock_holder(settings):
            sender = SenderLock(settings.database_path, "chronicle publish")
            moved: list[int] = []
            done = await follow(queue, [queued.outgoing_id], sender, 5, moved.append,
                                patience=0.3)
            assert (done, moved, sender.held) == (False, [], False)
        assert (await queue.counts(queued.outgoing_id)).pending == 5
    finally:
        await conn.close()


async def test_a_lock_file_that_cannot_be_opened_is_said_once_and_tried_again(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """serve's delivery waits for the lock; a lock path it cannot open (here a folder in
    its place) is one log line, not a dead task or a line a second."""
    database = tmp_path / "ccr.sqlite3"
    lock_path(database).mkdir()
    lock = SenderLock(database, "ccrlist serve")
    stop = asyncio.Event()
    caplog.set_level(logging.ERROR, logger="ccrlist.delivery")
    waiting = asyncio.create_task(lock.wait(stop, poll=0.01))
    await wait_for(lambda: bool(caplog.records), what="the lock's trouble in the log")
    for _ in range(20):
        await asyncio.sleep(0.01)  # deliberate delay: twenty more tries, still one line
    lock_path(database).rmdir()
    assert await asyncio.wait_for(waiting, 10) is True
    assert [r.getMessage() for r in caplog.records] == [
        f"cannot open the sender lock {lock_path(database)}: Is a directory; delivery "
        "waits and tries again"]
    lock.release()



def test_a_lock_file_this_user_may_only_read_still_locks(tmp_path: Path) -> None:
    """The server's lock file, seen by an editor who may read it but not write it: the
    lock works on a descriptor opened for reading, and keeps out a second holder."""
    database = tmp_path / "ccr.sqlite3"
    lock_path(database).write_text("ccrlist serve (pid 1)\n", encoding="utf-8")
    lock_path(database).chmod(0o444)
    tmp_path.chmod(0o555)  # nor may it be replaced
    code = ("import sys\nfrom pathlib import Path\n"
            "from ccrlist.delivery.sender_lock import SenderLock\n"
            "first = SenderLock(Path(sys.argv[1]), 'chronicle publish')\n"
            "second = SenderLock(Path(sys.argv[1]), 'chronicle publish')\n"
            "print(first.acquire(), second.acquire(), first.holder())\n")
    try:
        done = subprocess.run([sys.executable, "-c", code, str(database)], cwd=ROOT,
                              capture_output=True, text=True, timeout=60,
                              preexec_fn=unprivileged())
    finally:
        tmp_path.chmod(0o755)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "True False ccrlist serve (pid 1)\n"
