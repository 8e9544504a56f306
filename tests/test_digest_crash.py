"""Digests across crashes: a real `ccrlist serve` process (its digest clock read from a file)
killed with SIGKILL at several points, restarted, against a recording relay.

Every post must land in exactly one digest for each digest member: across the digests a
member gets (told apart by Message-ID) each post appears once. A copy being handed to
the relay at the kill may arrive twice, as for any delivery; nothing else may.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

import aiosmtplib
import pytest
from aiosmtpd.controller import Controller
from ccrlist_helpers import (
    DOMAIN,
    RecordingRelay,
    free_port,
    message,
    queue_settled,
    rows,
    wait_for,
    wait_listening,
    wait_until,
    write_serve_config,
)
from digestkit import DAILY, members, posts_in, utc

from ccrlist.config.loader import load_settings
from ccrlist.config.settings import Settings
from subscribers.db import open_database
from subscribers.models import Delivery

ROOT = Path(__file__).resolve().parent.parent
WRAPPER = ROOT / "tests" / "serve_with_clock.py"
EACH = ["each1@example.org", "each2@example.org"]
DIGEST = [f"d{i:02d}@example.org" for i in range(12)]  # English, French, plain text
POSTS = 5
CONNECTIONS = 2
BEFORE_EIGHT, EIGHT = utc(2026, 3, 6, 12), utc(2026, 3, 6, 13)  # Toronto, 7:00 and 8:00


@pytest.fixture
def relay() -> RecordingRelay:
    return RecordingRelay()


def write_config(tmp_path: Path, relay_port: int) -> tuple[Path, int]:
    return write_serve_config(
        tmp_path, relay_port,
        delivery=f"connections = {CONNECTIONS}\nretry_base_seconds = 0.2",
        more="[digest]\nhour = 8")


def set_clock(path: Path, at: float) -> None:
    """Move the server's digest clock (written whole: the server may read at any time)."""
    part = path.with_suffix(".part")
    part.write_text(repr(at), encoding="ascii")
    part.replace(path)


def spawn(config: Path, clock: Path, port: int, log: Path,
          crash_at: str = "") -> subprocess.Popen[bytes]:
    args = [sys.executable, str(WRAPPER), str(config), str(clock)] + ([crash_at] if crash_at
                                                                      else [])
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log.open("ab"))
    wait_listening(proc, port, log)
    return proc


async def post(port: int, n: int) -> None:
    smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=10)
    await smtp.connect()
    try:
        errors, _ = await smtp.sendmail(EACH[0], [f"ccrlist@{DOMAIN}"],
                                        message(author=EACH[0], subject=f"Post {n}",
                                                message_id=f"<crash-{n}@example.org>"))
        assert not errors
    finally:
        smtp.close()


async def prepare(settings: Settings) -> None:
    conn = await open_database(settings.database_path)
    try:
        modes = {a: Delivery() for a in EACH}
        modes.update({a: DAILY if i % 3 else Delivery("daily", None, "daily", "plain")
                      for i, a in enumerate(DIGEST)})
        await members(conn, modes, lang={a: "fr" for a in DIGEST[::2]})
    finally:
        await conn.close()


def digests_by_member(relay: RecordingRelay) -> dict[str, Counter[bytes]]:
    """For each digest member, how many copies of each digest (by Message-ID) arrived."""
    found: dict[str, Counter[bytes]] = defaultdict(Counter)
    for m in relay.messages:
        if m.rcpt_tos[0] in DIGEST:
            head = m.content.split(b"\r\n\r\n", 1)[0]
            mid = next(line for line in head.split(b"\r\n")
                       if line.lower().startswith(b"message-id:"))
            found[m.rcpt_tos[0]][mid] += 1
    return found


def posts_by_member(relay: RecordingRelay) -> dict[str, list[str]]:
    """For each digest member, the posts of each distinct digest they got, together."""
    seen: dict[str, dict[bytes, list[str]]] = defaultdict(dict)
    for m in relay.messages:
        if m.rcpt_tos[0] in DIGEST:
            head = m.content.split(b"\r\n\r\n", 1)[0]
            mid = next(line for line in head.split(b"\r\n")
                       if line.lower().startswith(b"message-id:"))
            seen[m.rcpt_tos[0]][mid] = posts_in(m.content)
    return {member: sorted(p for ids in d.values() for p in ids) for member, d in seen.items()}


@pytest.mark.parametrize("kill_at", ["before-the-hour", "in-commit", "after-commit",
                                     "mid-delivery"])
async def test_every_post_in_exactly_one_digest_across_kills(
        tmp_path: Path, relay: RecordingRelay, controller: Controller, kill_at: str) -> None:
    config, port = write_config(tmp_path, controller.port)
    settings = load_settings(config)
    await prepare(settings)
    clock, log = tmp_path / "clock", tmp_path / "serve.log"
    set_clock(clock, BEFORE_EIGHT)
    proc = spawn(config, clock, port, log)
    try:
        for n in range(1, POSTS + 1):
            await post(port, n)
        # The positive signal: every post held for every digest member, and the others'
        # copies all delivered.
        await wait_until(lambda: held(settings, len(DIGEST) * POSTS), timeout=20,
                         what="every post held for every digest member")
        await wait_for(lambda: sorted(relay.recipients()) == sorted(EACH * POSTS), timeout=20,
                       what="the individual copies")
        await wait_until(lambda: queue_settled(settings), timeout=20,
                         what="the individual copies recorded as sent")
        if kill_at == "before-the-hour":
            assert digests_by_member(relay) == {}
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
            set_clock(clock, EIGHT)
        elif kill_at in ("in-commit", "after-commit"):
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=20) == 0
            proc = spawn(config, clock, port, log, crash_at=kill_at)
            set_clock(clock, EIGHT)
            assert proc.wait(timeout=20) == -signal.SIGKILL  # killed itself at the point
            [(sent,)] = await rows(settings, "SELECT count(*) FROM digests")
            assert sent == (1 if kill_at == "after-commit" else 0)
        else:
            relay.delay = 0.15  # slow enough to kill in the middle
            set_clock(clock, EIGHT)
            await wait_for(lambda: len(digests_by_member(relay)) >= 3, timeout=20,
                           what="some digests delivered")
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
            assert len(digests_by_member(relay)) < len(DIGEST), "killed too late"
            relay.delay = 0.0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    proc = spawn(config, clock, port, log)
    try:
        await wait_for(lambda: set(digests_by_member(relay)) == set(DIGEST), timeout=30,
                       what=f"every digest member's digest ({log.read_text()[-2000:]})")
        await wait_until(lambda: queue_settled(settings), timeout=30,
                         what="every delivery recorded")
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    wanted = sorted(f"<crash-{n}@example.org>" for n in range(1, POSTS + 1))
    assert posts_by_member(relay) == {member: wanted for member in DIGEST}
    copies = digests_by_member(relay)
    repeated = sum(n - 1 for counts in copies.values() for n in counts.values())
    if kill_at == "mid-delivery":
        assert repeated <= CONNECTIONS  # only copies in flight at the kill
    else:
        assert repeated == 0
    assert sorted(relay.recipients().count(a) for a in EACH) == [POSTS, POSTS]
    [(issues,)] = await rows(settings, "SELECT count(*) FROM digests")
    assert issues == 1


async def held(settings: Settings, wanted: int) -> bool:
    [(n,)] = await rows(settings, "SELECT count(*) FROM digest_items")
    return bool(n == wanted)


def test_wrapper_refuses_an_unknown_crash_point(tmp_path: Path) -> None:
    config, _ = write_config(tmp_path, free_port())
    done = subprocess.run([sys.executable, str(WRAPPER), str(config), str(tmp_path / "c"),
                           "nowhere"], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 1 and "unknown crash point" in done.stderr
