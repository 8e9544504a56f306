"""`ccrlist serve` as a real subprocess: what it says at start, what it checks before it
serves, and how it holds up under a connection flood (issue 19)."""

from __future__ import annotations

import asyncio
import ctypes
import os
import resource
import signal
import smtplib
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from ccrlist_helpers import DOMAIN, add_members, free_port, message, wait_listening

from ccrlist.config.loader import load_settings
from subscribers.db import open_database

ROOT = Path(__file__).resolve().parent.parent


def write_config(tmp_path: Path, extra: str = "") -> tuple[Path, int, int]:
    smtp, web = free_port(), free_port()
    config = tmp_path / "ccr.toml"
    config.write_text(f"""
domain = "{DOMAIN}"
data_dir = "{tmp_path / 'var'}"
[server]
port = {smtp}
[web]
port = {web}
[auth]
policy = "off"
{extra}
""", encoding="utf-8")
    return config, smtp, web


def start(config: Path, log: Path,
          preexec: Callable[[], None] | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, str(ROOT / "cli.py"), "--config", str(config),
                             "serve"], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=log.open("wb"), preexec_fn=preexec)


@contextmanager
def serving(config: Path, port: int, log: Path,
            preexec: Callable[[], None] | None = None) -> Iterator[subprocess.Popen[bytes]]:
    proc = start(config, log, preexec)
    try:
        wait_listening(proc, port, log, seconds=20)
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def test_start_up_notices_are_plain_lines_not_log_records(tmp_path: Path) -> None:
    config, smtp, web = write_config(tmp_path)
    log = tmp_path / "serve.log"
    with serving(config, smtp, log) as proc:
        pass
    assert proc.returncode == 0
    lines = log.read_text().splitlines()
    assert lines[0] == (f"ccrlist serving SMTP on 127.0.0.1:{smtp} for {DOMAIN}; delivering "
                        f"via Maildir {tmp_path / 'var' / 'outbox'}")
    assert f"subscription pages on http://127.0.0.1:{web}/" in lines
    assert ("DKIM signing is off ([dkim] key_file is empty): outgoing mail is not signed"
            in lines)
    assert any(line.startswith(f"nobody reads postmaster@{DOMAIN}") for line in lines)
    assert any(line.startswith("open files limit: ") for line in lines)
    assert lines[-2:] == ["ccrlist shutting down", "ccrlist stopped"]
    assert not [line for line in lines if "WARNING" in line or "Traceback" in line]


def run_to_exit(config: Path, log: Path, preexec: Callable[[], None] | None = None) -> int:
    proc = start(config, log, preexec)
    try:
        return proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()


def _drop_root_privileges() -> None:
    """In the child: root without CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH (dropped from the
    bounding set, so they stay dropped across exec) obeys file modes like anyone else."""
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2):
        if libc.prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            os._exit(97)


def unprivileged() -> Callable[[], None] | None:
    """A preexec_fn under which a file of mode 0444 cannot be written, or None if not needed."""
    if os.geteuid() != 0:
        return None
    probe = subprocess.run([sys.executable, "-c", "pass"], preexec_fn=_drop_root_privileges,
                           check=False)
    if probe.returncode == 97:
        pytest.skip("running as root without CAP_SETPCAP: cannot make a file unwritable")
    return _drop_root_privileges


def test_a_read_only_database_stops_serve_before_it_listens(tmp_path: Path) -> None:
    """Issue 19, item 5: serve said it was serving, then answered 451 to every post."""
    config, smtp, _ = write_config(tmp_path)

    async def make() -> None:
        conn = await open_database(tmp_path / "var" / "ccr.sqlite3")
        await conn.close()

    asyncio.run(make())
    database = tmp_path / "var" / "ccr.sqlite3"
    database.chmod(0o444)
    log = tmp_path / "serve.log"
    assert run_to_exit(config, log, unprivileged()) == 1
    text = log.read_text()
    assert text.startswith(f"Error: cannot write the database {database}: attempt to write "
                           "a readonly database")
    assert "serving" not in text and "Traceback" not in text
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", smtp), timeout=1).close()


def test_an_outbox_that_cannot_be_written_stops_serve(tmp_path: Path) -> None:
    config, _, _ = write_config(tmp_path)
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "outbox").write_text("not a folder", encoding="utf-8")
    log = tmp_path / "serve.log"
    assert run_to_exit(config, log) == 1
    text = log.read_text()
    assert text.startswith(f"Error: cannot write the outbox Maildir {tmp_path}/var/outbox")
    assert "Traceback" not in text


def test_the_outbox_is_not_needed_with_a_relay(tmp_path: Path) -> None:
    config, smtp, _ = write_config(tmp_path, f'[relay]\nhost = "127.0.0.1"\nport = {free_port()}')
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "outbox").write_text("not a folder", encoding="utf-8")
    log = tmp_path / "serve.log"
    with serving(config, smtp, log) as proc:
        pass
    assert proc.returncode == 0, log.read_text()


@pytest.mark.parametrize("extra, message", [
    ("[delivery]\nconnections = 0", "'delivery.connections' must be a whole number from 1"),
    ("[limits]\nmax_message_bytes = 0", "'limits.max_message_bytes' must be a whole number"),
    ("[delivery]\nretry_base_seconds = nan", "'delivery.retry_base_seconds' must be a finite"),
])
def test_settings_that_cannot_work_stop_serve_with_the_key(tmp_path: Path, extra: str,
                                                           message: str) -> None:
    config, _, _ = write_config(tmp_path, extra)
    log = tmp_path / "serve.log"
    assert run_to_exit(config, log) == 1
    assert log.read_text().startswith(f"Error: {config}: {message}")
    assert "internal error" not in log.read_text()


def test_a_port_out_of_range_or_a_data_dir_that_is_a_file(tmp_path: Path) -> None:
    config, _, _ = write_config(tmp_path)
    text = config.read_text(encoding="utf-8")
    log = tmp_path / "serve.log"
    config.write_text(text.replace("[server]\n", "[server]\nhost = \"127.0.0.1\"\n")
                      .replace(f"port = {text.split('port = ')[1].split()[0]}", "port = 70000",
                               1), encoding="utf-8")
    assert run_to_exit(config, log) == 1
    assert "'server.port' must be a port number from 1 to 65,535, not 70000" in log.read_text()
    (tmp_path / "afile").write_text("x", encoding="utf-8")
    config.write_text(text.replace(f'data_dir = "{tmp_path / "var"}"',
                                   f'data_dir = "{tmp_path / "afile"}"'), encoding="utf-8")
    assert run_to_exit(config, log) == 1
    assert log.read_text().startswith(f"Error: {config}: 'data_dir' must be a directory")


def open_files(soft: int, hard: int) -> Callable[[], None]:
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    return limit


def test_serve_raises_its_open_files_limit_and_says_so(tmp_path: Path) -> None:
    config, smtp, _ = write_config(tmp_path)
    log = tmp_path / "serve.log"
    with serving(config, smtp, log, open_files(256, 512)):
        pass
    lines = log.read_text().splitlines()
    assert "open files limit: 512 (raised from 256)" in lines
    # 512 holds 200 SMTP and 100 web connections and serve's own files: nothing lowered.
    assert not [line for line in lines if line.startswith("the open files limit")]


async def _flood(port: int, sources: list[str], per_source: int,
                 ) -> tuple[list[asyncio.StreamWriter], dict[str, int]]:
    """Connect `per_source` times from each loopback address in `sources`; read the first
    line of each. Returns the open connections and how many got 220, 421 or nothing."""
    seen = {"220": 0, "421": 0, "nothing": 0}
    held: list[asyncio.StreamWriter] = []

    async def one(source: str) -> None:
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(
                "127.0.0.1", port, local_addr=(source, 0)), 10)
        except (OSError, TimeoutError):
            seen["nothing"] += 1
            return
        held.append(writer)
        try:
            line = await asyncio.wait_for(reader.readline(), 10)
        except (OSError, TimeoutError):
            line = b""
        seen[line[:3].decode() if line[:3] in (b"220", b"421") else "nothing"] += 1
        if line.startswith(b"421"):
            assert line.startswith(b"421 4.7.0 ")
            assert await asyncio.wait_for(reader.read(), 10) == b""  # closed at once

    await asyncio.gather(*(one(source) for source in sources for _ in range(per_source)))
    return held, seen


def _post_as_member(port: int) -> tuple[int, bytes]:
    """A member's post from 127.0.0.1 with smtplib: the reply to DATA."""
    with smtplib.SMTP("127.0.0.1", port, timeout=20) as client:
        client.ehlo()
        client.mail("alice@example.org")
        client.rcpt(f"ccrlist@{DOMAIN}")
        return client.data(message(message_id=f"<{time.time()}@example.org>"))


def _post_once_there_is_room(port: int, timeout: float = 20) -> int:
    """`_post_as_member` again while the server, still closing the flood's connections,
    answers 421; the code of the reply to DATA."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return _post_as_member(port)[0]
        except smtplib.SMTPConnectError as exc:
            if exc.smtp_code != 421 or time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _web_answers(port: int) -> int:
    with socket.create_connection(("127.0.0.1", port), timeout=20) as web:
        web.sendall(b"GET /subscribe/ccrlist HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        return int(web.recv(100).split()[1])


def _setup_member(config: Path) -> None:
    asyncio.run(add_members(load_settings(config), ["alice@example.org"]))


def test_a_flood_from_one_address_does_not_keep_a_member_out(tmp_path: Path) -> None:
    """Issue 19, item 1: with nofile at 256, 300 idle connections made a member's NOOP time
    out and the web app stop answering, and asyncio logged 30,169 tracebacks in 16 s.
    Here twice [server] max_connections_per_ip idle connections from 127.0.0.2 are held
    open while a member posts from 127.0.0.1."""
    config, smtp, web = write_config(tmp_path)
    _setup_member(config)
    log = tmp_path / "serve.log"
    with serving(config, smtp, log, open_files(256, 256)):
        async def go() -> None:
            held, seen = await _flood(smtp, ["127.0.0.2"], 2 * 20)
            try:
                assert seen == {"220": 20, "421": 20, "nothing": 0}
                code, reply = await asyncio.to_thread(_post_as_member, smtp)
                assert (code, reply[:9]) == (250, b"2.0.0 Mes")
                assert await asyncio.to_thread(_web_answers, web) == 200
            finally:
                for writer in held:
                    writer.close()

        asyncio.run(go())
    lines = log.read_text().splitlines()
    assert len(lines) < 100, lines[:20]
    assert not [line for line in lines if "Traceback" in line or " ERROR " in line]
    refused = [line for line in lines if "SMTP connection refused" in line]
    assert refused and "127.0.0.2" in refused[0]
    assert "over [server] max_connections_per_ip (20)" in refused[0]


def test_a_flood_from_many_addresses_past_the_open_files_limit(tmp_path: Path) -> None:
    """400 connections from 40 addresses (10 each, under the per-client limit) at a server
    whose open files limit (128) holds far fewer: each gets 220 or 421 (or nothing, when
    every descriptor is taken), the web app still answers, the log stays short, and once
    the flood goes the member posts."""
    config, smtp, web = write_config(tmp_path)
    _setup_member(config)
    log = tmp_path / "serve.log"
    with serving(config, smtp, log, open_files(128, 128)):
        async def go() -> None:
            sources = [f"127.0.0.{n}" for n in range(2, 42)]
            held, seen = await _flood(smtp, sources, 10)
            try:
                assert sum(seen.values()) == 400
                assert 0 < seen["220"] <= 64 and seen["421"] > 0, seen
                assert await asyncio.to_thread(_web_answers, web) == 200
            finally:
                for writer in held:
                    writer.close()
            assert await asyncio.to_thread(_post_once_there_is_room, smtp) == 250

        asyncio.run(go())
    lines = log.read_text().splitlines()
    assert "the open files limit (128) holds 42 SMTP and 21 web connections" in \
        "\n".join(lines)
    assert len(lines) < 100, lines[:20]
    assert not [line for line in lines if "Traceback" in line]
