"""`ccrlist serve` as a real subprocess: what it says at start, what it checks before it
serves, and how it holds up under a connection flood (issue 19)."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ccrlist_helpers import DOMAIN, free_port

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


def wait_listening(proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"serve exited early: {log.read_text()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("serve did not start listening")


@contextmanager
def serving(config: Path, port: int, log: Path,
            preexec: Callable[[], None] | None = None) -> Iterator[subprocess.Popen[bytes]]:
    proc = start(config, log, preexec)
    try:
        wait_listening(proc, port, log)
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
    assert lines[-2:] == ["ccrlist shutting down", "ccrlist stopped"]
    assert not [line for line in lines if "WARNING" in line or "Traceback" in line]
