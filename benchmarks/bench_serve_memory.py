"""Peak memory of a real `ccrlist serve` fanning one signed post out to 50,000 members.

    python benchmarks/bench_serve_memory.py [--members 50000] [--bits 2048]

Starts `ccrlist serve` as a subprocess (DKIM on, personalised copies, the relay being
Postfix's /usr/sbin/smtp-sink), posts once by SMTP, and samples the server's resident
memory from /proc until every copy is recorded as sent. Reports the peak (VmHWM) and the
resident size at the end. Goal (issue 16): under 150 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_fanout import start_sink
from sinks import free_port

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiosmtplib  # noqa: E402

from ccrlist.config.loader import load_settings  # noqa: E402
from ccrlist.delivery.dkim_keys import generate_key, private_pem  # noqa: E402
from subscribers.db import open_database  # noqa: E402
from subscribers.members import MemberStore  # noqa: E402
from subscribers.models import NewMember  # noqa: E402

DOMAIN = "lists.example.org"


def memory(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of `pid`, in kB."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            found[name] = int(value.split()[0])
    return found


def sent(database: Path) -> int:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as conn:
        row = conn.execute("SELECT count(*) FROM deliveries WHERE status = 'sent'").fetchone()
    return int(row[0])


async def add_members(config: Path, count: int) -> None:
    settings = load_settings(config)
    conn = await open_database(settings.database_path)
    try:
        await MemberStore(conn).add("ccrlist", [NewMember(f"member{i:05d}@example.net")
                                                for i in range(count)])
    finally:
        await conn.close()


async def post(port: int) -> None:
    body = (f"From: member00000@example.net\r\nTo: ccrlist@{DOMAIN}\r\n"
            "Subject: Memory benchmark\r\nMessage-ID: <memory@example.net>\r\n"
            "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
            + ("x" * 76 + "\r\n") * 60).encode()
    await aiosmtplib.send(body, sender="member00000@example.net",
                          recipients=[f"ccrlist@{DOMAIN}"], hostname="127.0.0.1", port=port,
                          timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=50_000)
    parser.add_argument("--bits", type=int, default=2048)
    args = parser.parse_args()
    relay_port, port = free_port(), free_port()
    sink, sink_name = start_sink(relay_port)
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
        folder = Path(tmp)
        (folder / "dkim.pem").write_bytes(private_pem(generate_key("rsa", args.bits)))
        config = folder / "ccr.toml"
        config.write_text(f'domain = "{DOMAIN}"\ndata_dir = "var"\n'
                          f'[server]\nport = {port}\n[relay]\nhost = "127.0.0.1"\n'
                          f'port = {relay_port}\n[web]\nport = {free_port()}\n'
                          '[auth]\npolicy = "off"\n'
                          '[dkim]\nkey_file = "dkim.pem"\n', encoding="utf-8")
        asyncio.run(add_members(config, args.members))
        database = load_settings(config).database_path
        log = (folder / "serve.log").open("wb")
        serve = subprocess.Popen([sys.executable, str(ROOT / "cli.py"), "--config",
                                  str(config), "serve"], stdout=log, stderr=log)
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    asyncio.run(post(port))
                    break
                except OSError:
                    if time.monotonic() > deadline or serve.poll() is not None:
                        raise SystemExit("serve did not start: "
                                         + (folder / "serve.log").read_text()) from None
                    time.sleep(0.1)
            started = time.monotonic()
            before = memory(serve.pid)
            peak_rss = before["VmRSS"]
            done = 0
            while done < args.members:
                if time.monotonic() - started > 900 or serve.poll() is not None:
                    raise SystemExit(f"only {done} of {args.members} sent: "
                                     + (folder / "serve.log").read_text()[-2000:])
                time.sleep(0.25)
                peak_rss = max(peak_rss, memory(serve.pid)["VmRSS"])
                done = sent(database)
            elapsed = time.monotonic() - started
            after = memory(serve.pid)
        finally:
            serve.send_signal(signal.SIGTERM)
            serve.wait(timeout=60)
            sink.send_signal(signal.SIGTERM)
            sink.wait(timeout=10)
    print(f"relay: {sink_name}; {args.members} members; RSA {args.bits} bits; personalised")
    print(f"all {args.members} sent in {elapsed:.1f} s after the post "
          f"({args.members / elapsed:,.0f} messages/s, expansion included)")
    print(f"serve resident memory: {before['VmRSS'] / 1024:.0f} MB when the post arrived, "
          f"peak {after['VmHWM'] / 1024:.0f} MB (sampled peak {peak_rss / 1024:.0f} MB), "
          f"{after['VmRSS'] / 1024:.0f} MB at the end; goal < 150 MB: "
          f"{'met' if after['VmHWM'] < 150 * 1024 else 'MISSED'}")


if __name__ == "__main__":
    main()
