"""Fan-out benchmark: one post to 10,000 members, delivered to Postfix's smtp-sink.

    python benchmarks/bench_fanout.py [--members 10000] [--connections 4] [--rounds 3]
                                      [--runs anchor,unsigned,rsa,...] [--bits 2048]

The relay is Postfix's /usr/sbin/smtp-sink (Debian package `postfix`) when installed,
else an aiosmtpd counting sink in a subprocess. Each run accepts the post into a fresh
database, expands it with the real expander and sends it with the real DeliveryWorker:

  anchor       no ccrlist at all: bare aiosmtplib clients, one per connection, sending
               the same personalised list copy, 1 RCPT per message (what Python can do)
  unsigned     personalised (the default: own unsubscribe token, VERP sender), no DKIM
  rsa          personalised, DKIM-signed with a fresh RSA key of --bits (in the signing
               thread, as `ccrlist serve` does)
  rsa-in-loop  the same, signing in the event loop instead (for comparison)
  rsa+ed25519  personalised, signed with RSA and a second, ed25519-sha256, signature
  batched      personalise = false, 50 recipients per transaction, unsigned
  verp         personalise = false, verp = true (one message per recipient), unsigned

The runs are interleaved: each round runs every one of them, in an order that rotates
from round to round, so that a busy minute on this shared machine does not fall on one
run only. Reported: messages/s per round, then the median (min-max) of each run and the
median of the per-round ratios. Goals (issue 16): rsa >= 1,000 messages/s and >= 0.9x
unsigned; unsigned >= 1,250 messages/s and >= 0.6x anchor.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sinks import free_port, run_sink

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiosmtplib  # noqa: E402

from ccrlist.config.settings import (  # noqa: E402
    BounceSettings,
    DeliverySettings,
    DkimSettings,
    RelaySettings,
    Settings,
)
from ccrlist.copies.expander import Expander  # noqa: E402
from ccrlist.copies.list_copy import list_headers, rewrite  # noqa: E402
from ccrlist.delivery.dkim_keys import generate_key, private_pem  # noqa: E402
from ccrlist.delivery.signing import copy_signer  # noqa: E402
from ccrlist.delivery.transport import make_transport  # noqa: E402
from ccrlist.delivery.verp import verp_sender  # noqa: E402
from ccrlist.delivery.worker import DeliveryWorker  # noqa: E402
from subscribers.db import open_database  # noqa: E402
from subscribers.members import MemberStore  # noqa: E402
from subscribers.models import NewMember  # noqa: E402
from subscribers.post_models import NewPost  # noqa: E402
from subscribers.posts import PostStore  # noqa: E402
from subscribers.queue import QueueStore  # noqa: E402

SMTP_SINK = "/usr/sbin/smtp-sink"
DOMAIN = "lists.example.org"
BODY = ("From: Alice <alice@example.org>\r\nSubject: Fan-out benchmark\r\n"
        "Message-ID: <fanout@example.org>\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n" + ("x" * 76 + "\r\n") * 60).encode()
RUNS = ("anchor", "unsigned", "rsa", "rsa-in-loop", "rsa+ed25519", "batched", "verp")
VERP_KEY = b"bench VERP key"


def start_sink(port: int) -> tuple[subprocess.Popen[bytes], str]:
    if os.path.exists(SMTP_SINK):
        cmd = [SMTP_SINK, "-u", "nobody" if os.geteuid() == 0 else os.environ.get("USER", ""),
               f"127.0.0.1:{port}", "256"]
        name = "Postfix smtp-sink"
    else:
        cmd = [sys.executable, __file__, "--sink-server", str(port)]
        name = "aiosmtpd counting sink (smtp-sink not installed)"
    proc = subprocess.Popen(cmd)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, name
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit(f"{name} did not start")


def members(count: int) -> list[str]:
    return [f"member{i:05d}@example.net" for i in range(count)]


async def anchor(count: int, port: int, connections: int) -> float:
    """Seconds for bare aiosmtplib clients to send `count` personalised copies."""
    settings = Settings(domain=DOMAIN)
    copy = rewrite(BODY, list_headers("ccrlist", settings, personalised=True),
                   "alice@example.org").replace(b"CCR-TOKEN-SLOT-0f3a9c", b"x" * 24)
    todo = members(count)
    sender = f"ccrlist-bounces@{DOMAIN}"

    async def client() -> None:
        smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=30)
        await smtp.connect()
        while todo:
            rcpt = todo.pop()
            await smtp.sendmail(verp_sender(sender, rcpt, VERP_KEY), [rcpt], copy)
        await smtp.quit()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(connections)))
    return time.perf_counter() - started


async def ccrlist_run(folder: Path, count: int, port: int, delivery: DeliverySettings,
                      dkim: DkimSettings, in_loop: bool = False) -> float:
    """Seconds for the DeliveryWorker to send one expanded post to `count` members."""
    settings = dataclasses.replace(Settings(), domain=DOMAIN, data_dir=folder,
                                   relay=RelaySettings("127.0.0.1", port, timeout=30.0),
                                   delivery=delivery, bounces=BounceSettings(probe_every=0),
                                   dkim=dkim)
    signer = copy_signer(settings)
    if signer is not None and in_loop:
        signer.threaded = False
    conn = await open_database(settings.database_path)
    try:
        await MemberStore(conn).add("ccrlist", [NewMember(a) for a in members(count)])
        posts = PostStore(conn)
        await posts.store_batch([NewPost("ccrlist", "<fanout@example.org>", "alice@example.org",
                                         "Fan-out benchmark", "alice@example.org", BODY,
                                         "accepted")])
        await Expander(posts, settings, lambda: None).expand_pending()
        queue = QueueStore(conn)
        started = time.perf_counter()
        report = await DeliveryWorker(queue, make_transport(settings), settings.delivery,
                                      signer=signer, verp_key=VERP_KEY).run_until_idle()
        elapsed = time.perf_counter() - started
        counts = await queue.counts()
    finally:
        await conn.close()
        if signer is not None:
            signer.close()
    if report.sent != count or counts.sent != count:
        raise SystemExit(f"only {report.sent} of {count} sent ({report})")
    return elapsed


def make_keys(folder: Path, bits: int) -> dict[str, DkimSettings]:
    rsa_file, ed_file = folder / "rsa.pem", folder / "ed25519.pem"
    rsa_file.write_bytes(private_pem(generate_key("rsa", bits)))
    ed_file.write_bytes(private_pem(generate_key("ed25519")))
    rsa = DkimSettings(selector="bench", key_file=rsa_file)
    return {"rsa": rsa, "rsa+ed25519": dataclasses.replace(
        rsa, ed25519_key_file=ed_file, ed25519_selector="bench-ed")}


def one(run: str, folder: Path, args: argparse.Namespace, port: int,
        keys: dict[str, DkimSettings]) -> float:
    """Messages per second of one run."""
    conns = args.connections
    if run == "anchor":
        return args.members / asyncio.run(anchor(args.members, port, conns))
    delivery = {
        "batched": DeliverySettings(max_rcpt_per_message=50, connections=conns,
                                    personalise=False),
        "verp": DeliverySettings(connections=conns, verp=True, personalise=False),
    }.get(run, DeliverySettings(connections=conns))
    dkim = keys.get("rsa" if run == "rsa-in-loop" else run, DkimSettings())
    seconds = asyncio.run(asyncio.wait_for(
        ccrlist_run(folder, args.members, port, delivery, dkim, run == "rsa-in-loop"),
        timeout=900))
    messages = -(-args.members // 50) if run == "batched" else args.members
    return messages / seconds


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):,.0f} ({min(values):,.0f}-{max(values):,.0f})"


def summary(results: dict[str, list[float]]) -> None:
    print("\nmedian (min-max) messages/s over", len(next(iter(results.values()))), "rounds:")
    for run, values in results.items():
        unit = " (50 recipients each)" if run == "batched" else ""
        print(f"  {run:12} {spread(values)}{unit}")
    for top, bottom in (("unsigned", "anchor"), ("rsa", "unsigned"),
                        ("rsa-in-loop", "unsigned"), ("rsa+ed25519", "unsigned")):
        if top in results and bottom in results:
            ratios = [t / b for t, b in zip(results[top], results[bottom], strict=True)]
            print(f"  {top} / {bottom}: median {statistics.median(ratios):.2f}x "
                  f"({min(ratios):.2f}-{max(ratios):.2f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--runs", default="anchor,unsigned,rsa",
                        help=f"comma-separated, from: {', '.join(RUNS)}")
    parser.add_argument("--bits", type=int, default=2048, help="RSA key size")
    parser.add_argument("--sink-server", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sink_server:
        run_sink(args.sink_server)
        return
    runs = [r.strip() for r in args.runs.split(",") if r.strip()]
    unknown = set(runs) - set(RUNS)
    if unknown:
        parser.error(f"unknown run(s): {', '.join(sorted(unknown))}")
    port = free_port()
    sink, name = start_sink(port)
    tmp = Path(tempfile.mkdtemp(prefix="bench-fanout-"))
    try:
        keys = make_keys(tmp, args.bits)
        print(f"sink: {name}; {args.members} members; {args.connections} connections; "
              f"{len(BODY)} byte post; RSA {args.bits} bits; cpus={os.cpu_count()}; "
              f"load average {os.getloadavg()[0]:.1f}")
        results: dict[str, list[float]] = {run: [] for run in runs}
        for n in range(args.rounds):
            order = runs[n % len(runs):] + runs[:n % len(runs)]
            line = []
            for run in order:
                rate = one(run, tmp / f"{n}-{run}", args, port, keys)
                results[run].append(rate)
                line.append(f"{run} {rate:,.0f}")
            print(f"round {n + 1}: " + "; ".join(line)
                  + f" (load average {os.getloadavg()[0]:.1f})", flush=True)
        summary(results)
    finally:
        sink.send_signal(signal.SIGTERM)
        sink.wait(timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
