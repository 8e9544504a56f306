"""Fan-out benchmark: one post to 10,000 subscribers, delivered to a local sink.

    python benchmarks/bench_fanout.py [--members 10000] [--connections 4]
                                      [--dkim] [--bits 2048]

The sink is Postfix's /usr/sbin/smtp-sink when installed (Debian package
`postfix`), else an aiosmtpd counting sink in a subprocess. The post is
accepted into a fresh database, expanded by the real expander, and sent by
the real DeliveryWorker three ways: batched (`personalise = false`, 50
recipients per transaction), VERP (`personalise = false`, `verp = true`: one
message per recipient) and personalised (the default: one message per
recipient with its own unsubscribe token and a VERP sender). Reports
recipients/s and messages/s. Goals: batched >= 5,000 recipients/s; VERP and
personalised >= 1,000 messages/s.

`--dkim` signs every copy with a fresh RSA key (`--bits`): a batched or VERP
message once, a personalised one once per copy (in the signing thread).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sinks import free_port, run_sink

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ccrlist.config.settings import (  # noqa: E402
    BounceSettings,
    DeliverySettings,
    DkimSettings,
    RelaySettings,
    Settings,
)
from ccrlist.copies.expander import Expander  # noqa: E402
from ccrlist.delivery.dkim_keys import generate_key, private_pem  # noqa: E402
from ccrlist.delivery.signing import copy_signer  # noqa: E402
from ccrlist.delivery.transport import make_transport  # noqa: E402
from ccrlist.delivery.worker import DeliveryWorker  # noqa: E402
from subscribers.db import open_database  # noqa: E402
from subscribers.members import MemberStore  # noqa: E402
from subscribers.models import NewMember  # noqa: E402
from subscribers.posts import NewPost, PostStore  # noqa: E402
from subscribers.queue import QueueStore  # noqa: E402

SMTP_SINK = "/usr/sbin/smtp-sink"
BODY = ("From: Alice <alice@example.org>\r\nSubject: Fan-out benchmark\r\n"
        "Message-ID: <fanout@example.org>\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n" + ("x" * 76 + "\r\n") * 60).encode()


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


async def one_run(folder: Path, members: int, port: int, delivery: DeliverySettings,
                  dkim: DkimSettings) -> dict[str, float]:
    settings = dataclasses.replace(Settings(), domain="lists.example.org", data_dir=folder,
                                   relay=RelaySettings("127.0.0.1", port, timeout=30.0),
                                   delivery=delivery, bounces=BounceSettings(probe_every=0),
                                   dkim=dkim)
    signer = copy_signer(settings)
    conn = await open_database(settings.database_path)
    try:
        await MemberStore(conn).add("ccrlist", [NewMember(f"member{i:05d}@example.net")
                                                for i in range(members)])
        posts = PostStore(conn)
        await posts.store_batch([NewPost("ccrlist", "<fanout@example.org>", "alice@example.org",
                                         "Fan-out benchmark", "alice@example.org", BODY,
                                         "accepted")])
        started = time.perf_counter()
        await Expander(posts, settings, lambda: None).expand_pending()
        expanded = time.perf_counter()
        queue = QueueStore(conn)
        report = await DeliveryWorker(queue, make_transport(settings), settings.delivery,
                                      signer=signer,
                                      verp_key=b"bench VERP key").run_until_idle()
        sent = time.perf_counter()
        counts = await queue.counts()
    finally:
        await conn.close()
        if signer is not None:
            signer.close()
    if report.sent != members or counts.sent != members:
        raise SystemExit(f"only {report.sent} of {members} sent ({report})")
    return {"expand": expanded - started, "send": sent - expanded}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--dkim", action="store_true", help="DKIM-sign every copy.")
    parser.add_argument("--bits", type=int, default=2048, help="With --dkim: RSA key size.")
    parser.add_argument("--sink-server", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sink_server:
        run_sink(args.sink_server)
        return
    port = free_port()
    sink, name = start_sink(port)
    tmp = Path(tempfile.mkdtemp(prefix="bench-fanout-"))
    try:
        dkim = DkimSettings()
        signing = "unsigned"
        if args.dkim:
            key_file = tmp / "dkim.pem"
            key_file.write_bytes(private_pem(generate_key("rsa", args.bits)))
            dkim = DkimSettings(selector="bench", key_file=key_file)
            signing = f"DKIM {args.bits}-bit RSA"
        print(f"sink: {name}; {args.members} members; {args.connections} connections; "
              f"{len(BODY)} byte post; {signing}; cpus={os.cpu_count()}")
        modes = {
            "batched (50 rcpt/txn)": DeliverySettings(
                max_rcpt_per_message=50, connections=args.connections, personalise=False),
            "VERP (1 rcpt/msg)": DeliverySettings(connections=args.connections, verp=True,
                                                  personalise=False),
            "personalised (1 rcpt/msg, token + VERP)": DeliverySettings(
                connections=args.connections),
        }
        for label, delivery in modes.items():
            folder = tmp / label.split()[0]
            t = asyncio.run(asyncio.wait_for(one_run(folder, args.members, port, delivery, dkim),
                                             timeout=600))
            one_each = delivery.verp or delivery.personalise
            messages = args.members if one_each else -(-args.members // 50)
            print(f"{label}: expansion {t['expand']:.2f} s; delivery {t['send']:.2f} s = "
                  f"{args.members / t['send']:.0f} recipients/s, {messages / t['send']:.0f} "
                  "messages/s")
    finally:
        sink.send_signal(signal.SIGTERM)
        sink.wait(timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
