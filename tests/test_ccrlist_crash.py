"""Crash recovery: a real `ccrlist serve` subprocess killed with SIGKILL, then restarted.

Nobody may miss an accepted post; duplicates are allowed only for batches that
were in flight: each connection's batch at the relay and its previous batch, whose
outcome may still have been waiting for its commit (at most 2 x `connections` batches
of `max_rcpt_per_message`).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import aiosmtplib
import pytest
from aiosmtpd.controller import Controller
from ccrlist_helpers import (
    DOMAIN,
    RecordingRelay,
    add_members,
    free_port,
    message,
    queue_settled,
    wait_for,
    wait_listening,
    wait_until,
    write_serve_config,
)

from ccrlist.config.loader import load_settings

ROOT = Path(__file__).resolve().parent.parent
MEMBERS = [f"m{i:03d}@example.org" for i in range(60)]
BATCH, CONNECTIONS = 5, 2


@pytest.fixture
def relay() -> RecordingRelay:
    return RecordingRelay(delay=0.08)


def write_config(tmp_path: Path, relay_port: int) -> tuple[Path, int]:
    return write_serve_config(
        tmp_path, relay_port,
        server="max_connections_per_ip = 200  # every client of these tests is 127.0.0.1",
        delivery=f"max_rcpt_per_message = {BATCH}\nconnections = {CONNECTIONS}\n"
                 "retry_base_seconds = 0.2")


def spawn(config: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([sys.executable, str(ROOT / "cli.py"), "--config", str(config),
                             "serve"], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=log.open("ab"))
    wait_listening(proc, port, log)
    return proc


def kill(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)


async def post(port: int, raw: bytes) -> int:
    smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=10)
    await smtp.connect()
    try:
        response = await smtp.sendmail("m000@example.org", [f"ccrlist@{DOMAIN}"], raw)
        return 250 if not response[0] else 0
    finally:
        smtp.close()


@pytest.mark.parametrize("kill_after", [0, 1, 5])
async def test_kill_mid_fanout_then_restart(tmp_path: Path, relay: RecordingRelay,
                                            controller: Controller, kill_after: int) -> None:
    config, port = write_config(tmp_path, controller.port)
    await add_members(load_settings(config), MEMBERS)
    log = tmp_path / "serve.log"
    proc = spawn(config, port, log)
    try:
        assert await post(port, message(author="m000@example.org")) == 250
        await wait_for(lambda: len(relay.messages) >= kill_after, what="some deliveries")
    finally:
        kill(proc)
    before = len(relay.recipients())
    assert before < len(MEMBERS), "the kill came after the fan-out finished"
    relay.delay = 0.0
    proc = spawn(config, port, log)
    try:
        await wait_for(lambda: set(relay.recipients()) >= set(MEMBERS), timeout=20,
                       what=f"every member after restart ({log.read_text()[-2000:]})")
        # Every delivery recorded as sent: nothing more goes out, so a repeat would be here.
        await wait_until(lambda: queue_settled(load_settings(config)), timeout=20,
                         what="every delivery recorded")
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    counts = Counter(relay.recipients())
    duplicates = sum(n - 1 for n in counts.values())
    assert set(counts) == set(MEMBERS)
    assert duplicates <= 2 * BATCH * CONNECTIONS
    assert all(n <= 2 for n in counts.values())


async def test_kill_during_ingest_loses_no_accepted_post(tmp_path: Path, relay: RecordingRelay,
                                                         controller: Controller) -> None:
    relay.delay = 0.0
    config, port = write_config(tmp_path, controller.port)
    await add_members(load_settings(config), MEMBERS[:3])
    proc = spawn(config, port, tmp_path / "serve.log")
    accepted: list[str] = []
    try:
        for i in range(5):
            mid = f"<ingest-{i}@example.org>"
            if await post(port, message(author="m000@example.org", message_id=mid)) == 250:
                accepted.append(mid)
    finally:
        kill(proc)
    assert len(accepted) == 5
    proc = spawn(config, port, tmp_path / "serve.log")
    try:
        def delivered() -> set[tuple[str, str]]:
            found = set()
            for m in relay.messages:
                mid = next(line for line in m.content.split(b"\r\n")
                           if line.lower().startswith(b"message-id:"))
                found |= {(mid.split(b":", 1)[1].strip().decode(), r) for r in m.rcpt_tos}
            return found

        wanted = {(mid, r) for mid in accepted for r in MEMBERS[:3]}
        await wait_for(lambda: delivered() >= wanted, timeout=20, what="every accepted post")
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0


def test_sigterm_exits_cleanly(tmp_path: Path) -> None:
    config, port = write_config(tmp_path, free_port())
    proc = spawn(config, port, tmp_path / "serve.log")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == 0
    assert "stopped" in (tmp_path / "serve.log").read_text()
    assert os.path.exists(tmp_path / "var" / "ccr.sqlite3")
