"""Ingest benchmark: posts/s accepted by `ccrlist serve` versus a bare aiosmtpd sink.

    python benchmarks/bench_ingest.py [--clients 20] [--messages 3000] [--rounds 5]
                                      [--client asyncio|smtp-source]

Each server runs in its own subprocess on loopback and faces the same load:
`--clients` concurrent SMTP sessions (connections reused), each message 5 KB
with its own Message-ID, posted by a list member. The client is a lean asyncio
one in Python, or Postfix's `smtp-source` (Debian package `postfix`), the client
`../shared/BENCHMARKS.md` measured its baselines with; the C client leaves the
servers more of the two cores. ccrlist commits every
post durably (WAL, synchronous=FULL) before its 250; the sink stores nothing.
The list member is on `nomail`, so the figure is ingest, not fan-out.
Prints the median rate of each and the ratio (goal: >= 0.8, issue 16).

A second sink reads MAIL FROM and RCPT TO paths the way ccrlist does
(`ccrlist.protocol` skips aiosmtpd's slow header parser for plain paths). The
ratio against it is like for like: what storing and judging posts costs, without
the parser work ccrlist saves.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sinks import free_port, run_sink

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DOMAIN = "lists.example.org"
AUTHOR = "member@example.org"
FILLER = ("x" * 76 + "\r\n") * 64  # about 5 KB with the headers


def wait_listening(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("server exited before listening")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("server did not start")


def member_post(message_id: str, i: int) -> bytes:
    """The benchmark's post: about 5 KB from the list member."""
    return (f"From: {AUTHOR}\r\nTo: ccrlist@{DOMAIN}\r\nSubject: bench {i}\r\n"
            f"Message-ID: {message_id}\r\n\r\n{FILLER}").encode()


# (Message-ID, sequence number) -> the message, without the final ".\r\n"
MakePost = Callable[[str, int], bytes]


async def client(port: int, count: int, prefix: str, make: MakePost = member_post,
                 sender: str = AUTHOR) -> None:
    """A lean SMTP client: one connection, `count` messages, waits for every reply."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)

    async def reply() -> bytes:
        while True:
            line = await reader.readline()
            if not line:
                raise ConnectionError("server closed the connection")
            if line[3:4] != b"-":
                return line

    await reply()
    writer.write(b"EHLO bench\r\n")
    await reply()
    for i in range(count):
        body = make(f"<{prefix}.{i}@bench.example>", i) + b".\r\n"
        for command in (f"MAIL FROM:<{sender}>\r\n".encode(),
                        f"RCPT TO:<ccrlist@{DOMAIN}>\r\n".encode(), b"DATA\r\n"):
            writer.write(command)
            await reply()
        writer.write(body)
        answer = await reply()
        if not answer.startswith(b"250"):
            raise RuntimeError(f"refused: {answer!r}")
    writer.write(b"QUIT\r\n")
    await reply()
    writer.close()


async def load(port: int, clients: int, messages: int, tag: str,
               make: MakePost = member_post, sender: str = AUTHOR) -> float:
    per_client = messages // clients
    start = time.perf_counter()
    await asyncio.wait_for(asyncio.gather(
        *(client(port, per_client, f"{tag}.{c}", make, sender) for c in range(clients))),
        timeout=300)
    return per_client * clients / (time.perf_counter() - start)


SMTP_SOURCE = "/usr/sbin/smtp-source"


def source_load(port: int, clients: int, messages: int) -> float:
    """Posts/s that Postfix's `smtp-source` gets through, connections reused."""
    start = time.perf_counter()
    done = subprocess.run([SMTP_SOURCE, "-d", "-s", str(clients), "-m", str(messages),
                           "-l", "5120", "-f", AUTHOR, "-t", f"ccrlist@{DOMAIN}",
                           f"127.0.0.1:{port}"], capture_output=True, timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"smtp-source failed: {done.stderr.decode(errors='replace')}")
    return messages / (time.perf_counter() - start)


def ccrlist_config(folder: Path, port: int, auth: str = 'policy = "off"\n',
                   author: str = AUTHOR) -> Path:
    """A config for `ccrlist serve`; `auth` is the body of its [auth] table (no real DNS)."""
    config = folder / "ccr.toml"
    # Every session comes from 127.0.0.1, and smtp-source -d reconnects for each message:
    # the per-client limit (20 by default) would refuse the load's own overlapping sessions.
    config.write_text(f'domain = "{DOMAIN}"\ndata_dir = "{folder / "var"}"\n'
                      f'[server]\nhost = "127.0.0.1"\nport = {port}\n'
                      f'max_connections = 10000\nmax_connections_per_ip = 10000\n'
                      f'[auth]\n{auth}', encoding="utf-8")
    subprocess.run([sys.executable, str(ROOT / "cli.py"), "--config", str(config), "members",
                    "add", author], check=True, capture_output=True)
    db = folder / "var" / "ccr.sqlite3"
    with sqlite3.connect(db) as conn:  # nomail: measure ingest, not fan-out
        conn.execute("UPDATE memberships SET delivery_mode = 'nomail'")
    return config


def measure_serve(folder: Path, config: Path, port: int, clients: int, messages: int,
                  tag: str, make: MakePost = member_post, sender: str = AUTHOR,
                  client_kind: str = "asyncio") -> tuple[float, int]:
    """Run `ccrlist serve` with `config`, put the load on it, stop it: (rate, exit code).

    Its standard error goes to `folder/serve.log`, shown when the load fails.
    """
    with (folder / "serve.log").open("wb") as log:
        server = subprocess.Popen([sys.executable, str(ROOT / "cli.py"), "--config",
                                   str(config), "serve"], stderr=log)
    try:
        wait_listening(port, server)
        try:
            rate = (source_load(port, clients, messages) if client_kind == "smtp-source"
                    else asyncio.run(load(port, clients, messages, tag, make, sender)))
        except RuntimeError:
            sys.stderr.write((folder / "serve.log").read_text()[-3000:])
            raise
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    return rate, server.returncode


def measure_sink(clients: int, messages: int, tag: str, client_kind: str,
                 *flags: str) -> float:
    """Posts/s of a sink subprocess (`run_sink`) under the load."""
    port = free_port()
    sink = subprocess.Popen([sys.executable, __file__, "--sink-server", str(port), *flags])
    try:
        wait_listening(port, sink)
        if client_kind == "smtp-source":
            return source_load(port, clients, messages)
        return asyncio.run(load(port, clients, messages, tag))
    finally:
        sink.send_signal(signal.SIGTERM)
        sink.wait(timeout=20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--client", choices=("asyncio", "smtp-source"), default="asyncio")
    parser.add_argument("--sink-server", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--plain-paths", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sink_server:
        run_sink(args.sink_server, args.plain_paths)
        return
    if args.client == "smtp-source" and not Path(SMTP_SOURCE).exists():
        raise SystemExit(f"{SMTP_SOURCE} not found: install the Debian package postfix")
    bare: list[float] = []
    plain: list[float] = []
    ours: list[float] = []
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        for round_no in range(args.rounds):
            bare.append(measure_sink(args.clients, args.messages, f"s{round_no}", args.client))
            plain.append(measure_sink(args.clients, args.messages, f"p{round_no}", args.client,
                                      "--plain-paths"))
            folder = Path(tmp) / f"round{round_no}"
            folder.mkdir()
            port = free_port()
            config = ccrlist_config(folder, port)
            rate, returncode = measure_serve(folder, config, port, args.clients, args.messages,
                                             f"c{round_no}", client_kind=args.client)
            ours.append(rate)
            with sqlite3.connect(folder / "var" / "ccr.sqlite3") as conn:
                stored = conn.execute("SELECT count(*) FROM posts").fetchone()[0]
            expected = (args.messages if args.client == "smtp-source"
                        else args.messages // args.clients * args.clients)
            if returncode != 0 or stored != expected:
                sys.stderr.write((folder / "serve.log").read_text()[-3000:])
                raise SystemExit(f"ccrlist stored {stored} posts, expected {expected}")
            print(f"round {round_no + 1}: bare sink {bare[-1]:.0f}/s, sink with plain paths "
                  f"{plain[-1]:.0f}/s, ccrlist {ours[-1]:.0f}/s", flush=True)
    b, p, o = statistics.median(bare), statistics.median(plain), statistics.median(ours)
    print(f"client={args.client} sessions={args.clients} messages/round={args.messages} "
          f"cpus={os.cpu_count()}")
    print(f"bare aiosmtpd sink:           {b:.0f} posts/s (median of {args.rounds})")
    print(f"sink reading paths as we do:  {p:.0f} posts/s (median of {args.rounds})")
    print(f"ccrlist ingest:               {o:.0f} posts/s (median of {args.rounds}), "
          "each committed before its 250")
    print(f"ratio: {o / b:.2f}x the bare sink (goal >= 0.80); "
          f"{o / p:.2f}x the sink reading paths as we do")


if __name__ == "__main__":
    main()
