"""Peak memory of a real `ccrlist serve` through 40,000 posts and a signed fan-out of one
post to 50,000 members.

    python benchmarks/bench_serve_memory.py [--posts 40000] [--members 50000] [--bits 2048]

Starts `ccrlist serve` as a subprocess (DKIM on, personalised copies, the archive on, the
relay being Postfix's /usr/sbin/smtp-sink). First 20 SMTP sessions post `--posts` posts
of 5 KB to `ccrlist` (two members: every post is stored, archived and sent twice); then
one post goes to the list `big` of `--members` members. The server's resident memory is
sampled from /proc until every copy is recorded as sent. Reports the peak (VmHWM) and the
resident size after each phase. Goal (issue 16): under 150 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_fanout import start_sink
from bench_ingest import load
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
AUTHOR = "member00000@example.net"
FILLER = ("x" * 76 + "\r\n") * 64  # about 5 KB with the headers


def memory(pid: int) -> dict[str, int]:
    """VmRSS, VmHWM and the parts of VmRSS (anonymous, file, shared) of `pid`, in kB."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM", "RssAnon", "RssFile", "RssShmem"):
            found[name] = int(value.split()[0])
    return found


def sent(database: Path) -> int:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as conn:
        row = conn.execute("SELECT count(*) FROM deliveries WHERE status = 'sent'").fetchone()
    return int(row[0])


async def add_members(config: Path, count: int) -> None:
    """`big` gets `count` members; `ccrlist` the author and one reader."""
    settings = load_settings(config)
    conn = await open_database(settings.database_path)
    try:
        store = MemberStore(conn)
        await store.create_list("big", "subscribers")
        await store.add("big", [NewMember(f"member{i:05d}@example.net") for i in range(count)])
        await store.add("ccrlist", [NewMember(AUTHOR), NewMember("reader@example.net")])
    finally:
        await conn.close()


def small_post(message_id: str, i: int) -> bytes:
    return (f"From: {AUTHOR}\r\nTo: ccrlist@{DOMAIN}\r\nSubject: memory {i}\r\n"
            f"Message-ID: {message_id}\r\n\r\n{FILLER}").encode()


async def post(port: int) -> None:
    body = (f"From: {AUTHOR}\r\nTo: big@{DOMAIN}\r\n"
            "Subject: Memory benchmark\r\nMessage-ID: <memory@example.net>\r\n"
            "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
            + ("x" * 76 + "\r\n") * 60).encode()
    await aiosmtplib.send(body, sender=AUTHOR, recipients=[f"big@{DOMAIN}"],
                          hostname="127.0.0.1", port=port, timeout=30)


async def posts_while_sampling(port: int, count: int, pid: int, peak: list[int]) -> float:
    """Post `count` posts over 20 sessions; sample the server's memory meanwhile."""
    async def sample() -> None:
        while True:
            peak[0] = max(peak[0], memory(pid)["VmRSS"])
            await asyncio.sleep(0.25)

    sampler = asyncio.create_task(sample())
    try:
        return await load(port, 20, count, "memory", small_post, AUTHOR)
    finally:
        sampler.cancel()


def wait_sent(database: Path, target: int, serve: subprocess.Popen[bytes], log: Path,
              peak: list[int], limit: float = 900) -> float:
    """Seconds until `target` deliveries are sent; the peak memory sampled meanwhile."""
    started = time.monotonic()
    done = sent(database)
    while done < target:
        if time.monotonic() - started > limit or serve.poll() is not None:
            raise SystemExit(f"only {done} of {target} sent: " + log.read_text()[-2000:])
        time.sleep(0.25)
        peak[0] = max(peak[0], memory(serve.pid)["VmRSS"])
        done = sent(database)
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=50_000)
    parser.add_argument("--posts", type=int, default=40_000)
    parser.add_argument("--bits", type=int, default=2048)
    args = parser.parse_args()
    posts = args.posts // 20 * 20  # whole rounds of the 20 sessions
    relay_port, port = free_port(), free_port()
    sink, sink_name = start_sink(relay_port)
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
        folder = Path(tmp)
        (folder / "dkim.pem").write_bytes(private_pem(generate_key("rsa", args.bits)))
        config = folder / "ccr.toml"
        config.write_text(f'domain = "{DOMAIN}"\ndata_dir = "var"\n'
                          f'[server]\nport = {port}\nmax_connections_per_ip = 100\n'
                          f'[relay]\nhost = "127.0.0.1"\n'
                          f'port = {relay_port}\n[web]\nport = {free_port()}\n'
                          '[auth]\npolicy = "off"\n'
                          '[dkim]\nkey_file = "dkim.pem"\n', encoding="utf-8")
        asyncio.run(add_members(config, args.members))
        database = load_settings(config).database_path
        log_path = folder / "serve.log"
        log = log_path.open("wb")
        serve = subprocess.Popen([sys.executable, str(ROOT / "cli.py"), "--config",
                                  str(config), "serve"], stdout=log, stderr=log)
        peak = [0]
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=1):
                        break
                except OSError:
                    if time.monotonic() > deadline or serve.poll() is not None:
                        raise SystemExit("serve did not start: " + log_path.read_text()) from None
                    time.sleep(0.1)
            at_start = memory(serve.pid)
            rate = asyncio.run(posts_while_sampling(port, posts, serve.pid, peak))
            posts_sent = wait_sent(database, 2 * posts, serve, log_path, peak)
            after_posts = memory(serve.pid)
            asyncio.run(post(port))
            elapsed = wait_sent(database, 2 * posts + args.members, serve, log_path, peak)
            after = memory(serve.pid)
        finally:
            serve.send_signal(signal.SIGTERM)
            serve.wait(timeout=60)
            sink.send_signal(signal.SIGTERM)
            sink.wait(timeout=10)
    mb = 1024
    print(f"relay: {sink_name}; RSA {args.bits} bits; personalised; archive on")
    print(f"{posts} posts of 5 KB over 20 sessions at {rate:,.0f} posts/s, their "
          f"{2 * posts} copies all sent {posts_sent:.1f} s after the last; then one post to "
          f"{args.members} members, all sent in {elapsed:.1f} s "
          f"({args.members / elapsed:,.0f} messages/s, expansion included)")
    print(f"serve resident memory: {at_start['VmRSS'] / mb:.0f} MB at start, "
          f"{after_posts['VmRSS'] / mb:.0f} MB after the posts, "
          f"{after['VmRSS'] / mb:.0f} MB after the fan-out; peak {after['VmHWM'] / mb:.0f} MB "
          f"(sampled peak {peak[0] / mb:.0f} MB); goal < 150 MB: "
          f"{'met' if after['VmHWM'] < 150 * mb else 'MISSED'}")
    print("  of which, at the end: " + ", ".join(
        f"{part} {after[key] / mb:.0f} MB" for part, key in (
            ("heap and other anonymous memory", "RssAnon"), ("mapped files", "RssFile"),
            ("shared memory (SQLite's WAL index)", "RssShmem"))))


if __name__ == "__main__":
    main()
