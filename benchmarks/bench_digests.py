"""Digest benchmark: 5,000 daily-digest members and 50 posts, the digests built and handed
to the relay.

    python benchmarks/bench_digests.py [--members 5000] [--posts 50] [--rounds 3]
                                       [--connections 4] [--bits 2048]

Each round starts from a fresh database: the members (all `daily`), the posts stored and
expanded by the real expander (so they are held for the digest; not timed), then, timed,
the real digest runner at the daily hour (reading what is held, rendering the digest once
and queueing one personalised copy per member in one transaction) and the real
DeliveryWorker handing every copy to a local sink, each with the member's token and a
signed VERP sender. The sink is Postfix's /usr/sbin/smtp-sink when installed, else an
aiosmtpd counting sink in a subprocess. Every round runs unsigned and DKIM-signed (a fresh
RSA key, each personalised copy signed with OpenSSL), one after
the other; medians of the rounds are reported. Goal: under 10 s from the digest run to the
last copy at the relay.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench_fanout import start_sink
from sinks import free_port, run_sink

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ccrlist.config.settings import (  # noqa: E402
    DeliverySettings,
    DigestSettings,
    DkimSettings,
    RelaySettings,
    Settings,
)
from ccrlist.copies.expander import Expander  # noqa: E402
from ccrlist.delivery.dkim_keys import generate_key, private_pem  # noqa: E402
from ccrlist.delivery.signing import copy_signer  # noqa: E402
from ccrlist.delivery.transport import make_transport  # noqa: E402
from ccrlist.delivery.worker import DeliveryWorker  # noqa: E402
from ccrlist.digests.runner import DigestRunner  # noqa: E402
from ccrlist.digests.schedule import following  # noqa: E402
from subscribers.db import open_database  # noqa: E402
from subscribers.members import MemberStore  # noqa: E402
from subscribers.models import Delivery, NewMember  # noqa: E402
from subscribers.post_models import NewPost  # noqa: E402
from subscribers.posts import PostStore  # noqa: E402
from subscribers.queue import QueueStore  # noqa: E402

# A plain post of about 2 KB, as list mail mostly is.
LINE = "We met with the Minister's office today about family reunification delays; "
POST = ("From: Alice Martin <alice@example.org>\r\nTo: ccrlist@lists.example.org\r\n"
        "Subject: {subject}\r\nDate: Tue, 24 Nov 2026 10:00:00 -0500\r\n"
        "Message-ID: <{mid}>\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n" + (LINE + "\r\n") * 24)


async def one_run(folder: Path, members: int, posts: int, port: int,
                  delivery: DeliverySettings, dkim: DkimSettings) -> dict[str, float]:
    settings = dataclasses.replace(
        Settings(), domain="lists.example.org", data_dir=folder,
        relay=RelaySettings("127.0.0.1", port, timeout=60.0), delivery=delivery,
        digest=DigestSettings(max_bytes=0), dkim=dkim)
    signer = copy_signer(settings)
    conn = await open_database(settings.database_path)
    try:
        store = MemberStore(conn)
        await store.add("ccrlist", [NewMember(f"member{i:05d}@example.net")
                                    for i in range(members)])
        await conn.execute("UPDATE memberships SET delivery_mode = 'daily', "
                           "resume_mode = 'daily'")
        await conn.commit()
        assert (await store.members("ccrlist"))[0].delivery == Delivery("daily", None, "daily")
        post_store = PostStore(conn)
        await post_store.store_batch([
            NewPost("ccrlist", f"<bench-{n}@example.org>", "alice@example.org",
                    f"Update {n}", "alice@example.org",
                    POST.format(subject=f"Update {n}", mid=f"bench-{n}@example.org").encode(),
                    "accepted") for n in range(posts)])
        await Expander(post_store, settings, lambda: None).expand_pending()
        now = time.time()
        runner = DigestRunner(conn, settings, clock=lambda: now)
        await runner.send_due()  # the list's first look starts its schedule
        now = following("daily", now, settings.digest)  # the daily hour
        started = time.perf_counter()
        [sent] = await runner.send_due()
        built = time.perf_counter()
        queue = QueueStore(conn)
        report = await DeliveryWorker(queue, make_transport(settings), settings.delivery,
                                      signer=signer,
                                      verp_key=b"bench VERP key").run_until_idle()
        handed = time.perf_counter()
        counts = await queue.counts()
        [(size,)] = await conn.execute_fetchall(
            "SELECT length(body) FROM outgoing WHERE source = 'digest'")
    finally:
        await conn.close()
        if signer is not None:
            signer.close()
    if sent.members != members or report.sent != members or counts.sent != members:
        raise SystemExit(f"only {report.sent} of {members} sent ({report}, {sent})")
    return {"build": built - started, "send": handed - built, "total": handed - started,
            "size": float(size)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=5000)
    parser.add_argument("--posts", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--bits", type=int, default=2048)
    parser.add_argument("--sink-server", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sink_server:
        run_sink(args.sink_server)
        return
    port = free_port()
    sink, name = start_sink(port)
    tmp = Path(tempfile.mkdtemp(prefix="bench-digests-"))
    try:
        key_file = tmp / "dkim.pem"
        key_file.write_bytes(private_pem(generate_key("rsa", args.bits)))
        kinds = {
            "unsigned": DkimSettings(),
            f"DKIM RSA {args.bits}-bit":
                DkimSettings(selector="bench", key_file=key_file),
        }
        delivery = DeliverySettings(connections=args.connections)
        print(f"sink: {name}; {args.members} daily-digest members; {args.posts} posts; "
              f"{args.connections} connections; {args.rounds} round(s); "
              f"cpus={os.cpu_count()}", flush=True)
        results: dict[str, list[dict[str, float]]] = {kind: [] for kind in kinds}
        for n in range(args.rounds):
            for kind, dkim in kinds.items():
                folder = tmp / f"{n}-{len(results[kind])}-{kind.split()[0]}"
                t = asyncio.run(asyncio.wait_for(
                    one_run(folder, args.members, args.posts, port, delivery, dkim), 900))
                results[kind].append(t)
                print(f"  round {n + 1}, {kind}: build {t['build']:.2f} s, hand to relay "
                      f"{t['send']:.2f} s, total {t['total']:.2f} s", flush=True)
                shutil.rmtree(folder, ignore_errors=True)
        for kind, runs in results.items():
            med = {k: statistics.median(r[k] for r in runs) for k in ("build", "send", "total")}
            print(f"{kind}: median total {med['total']:.2f} s (build {med['build']:.2f} s, "
                  f"hand to relay {med['send']:.2f} s) for {args.members} copies of a "
                  f"{runs[0]['size'] / 1000:.0f} KB digest = "
                  f"{args.members / med['total']:.0f} copies/s")
    finally:
        sink.send_signal(signal.SIGTERM)
        sink.wait(timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
