"""Benchmark `chronicle publish` sending to 10,000 subscribers, signed and unsigned.

Run from the repository root: python benchmarks/bench_publish_send.py [--subscribers 10000]
                                                                      [--rounds 3] [--bits 2048]
Measures the wall time of a fresh `chronicle publish vol12-2` process sending to N
subscribers through Postfix's smtp-sink (everything: interpreter start, checks, pages,
queueing, one personalised copy each), DKIM-signed with a fresh RSA key and unsigned,
interleaved for --rounds rounds. Goal: 1,000 messages/s signed (issue 16). Publishing
without sending is measured by bench_publish.py.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_fanout import start_sink
from sinks import free_port

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PUBLISH = [sys.executable, "-c",
           f"import sys; sys.path.insert(0, {str(ROOT)!r}); from cli import chronicle_main; "
           "sys.argv = ['chronicle', *sys.argv[1:]]; chronicle_main()"]


async def _subscribe(folder: Path, count: int) -> None:
    from ccrlist.config.loader import load_settings
    from subscribers.db import open_database
    from subscribers.members import MemberStore
    from subscribers.models import NewMember

    settings = load_settings(folder / "ccr.toml")
    conn = await open_database(settings.database_path)
    try:
        store = MemberStore(conn)
        if await store.get_list(settings.newsletter.list) is None:
            await store.create_list(settings.newsletter.list, "announce")
        await store.add(settings.newsletter.list, [NewMember(f"reader{i:05d}@example.net")
                                                   for i in range(count)])
    finally:
        await conn.close()


def send_once(folder: Path, count: int, relay_port: int, key: Path | None) -> float:
    """Wall seconds of `chronicle publish vol12-2` to `count` fresh subscribers."""
    (folder / "issues").mkdir(parents=True)
    shutil.copy(ROOT / "issues" / "vol12-2.md", folder / "issues")
    dkim = f'[dkim]\nkey_file = "{key}"\n' if key else ""
    (folder / "ccr.toml").write_text(
        'data_dir = "var"\nissues_dir = "issues"\n[site]\noutput_dir = "site"\n'
        f'[relay]\nhost = "127.0.0.1"\nport = {relay_port}\n{dkim}', "utf-8")
    asyncio.run(_subscribe(folder, count))
    started = time.perf_counter()
    done = subprocess.run([*PUBLISH, "publish", "vol12-2"], cwd=folder, capture_output=True,
                          text=True)
    elapsed = time.perf_counter() - started
    with sqlite3.connect(folder / "var" / "ccr.sqlite3") as conn:
        sent = conn.execute("SELECT count(*) FROM deliveries WHERE status = 'sent'").fetchone()
    if done.returncode != 0 or sent[0] != count:
        raise SystemExit(f"publish sent {sent[0]} of {count}: {done.stdout}{done.stderr}")
    return elapsed


def bench_send(count: int, rounds: int, bits: int) -> None:
    from ccrlist.delivery.dkim_keys import generate_key, private_pem

    relay_port = free_port()
    sink, name = start_sink(relay_port)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            key = Path(tmp) / "dkim.pem"
            key.write_bytes(private_pem(generate_key("rsa", bits)))
            rates: dict[str, list[float]] = {"signed": [], "unsigned": []}
            for n in range(rounds):
                order = ["signed", "unsigned"] if n % 2 == 0 else ["unsigned", "signed"]
                for run in order:
                    folder = Path(tmp) / f"{n}-{run}"
                    seconds = send_once(folder, count, relay_port,
                                        key if run == "signed" else None)
                    rates[run].append(count / seconds)
                    print(f"round {n + 1}: chronicle publish vol12-2 to {count} subscribers, "
                          f"{run}: {seconds:.2f} s = {count / seconds:,.0f} messages/s",
                          flush=True)
    finally:
        sink.send_signal(signal.SIGTERM)
        sink.wait(timeout=10)
    for run, values in rates.items():
        print(f"publish {run} ({name}, RSA {bits} bits): median "
              f"{statistics.median(values):,.0f} messages/s ({min(values):,.0f}-"
              f"{max(values):,.0f}) over {rounds} rounds, interpreter start included")
    ratios = [s / u for s, u in zip(rates["signed"], rates["unsigned"], strict=True)]
    print(f"signed / unsigned: median {statistics.median(ratios):.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--bits", type=int, default=2048)
    args = parser.parse_args()
    bench_send(args.subscribers, args.rounds, args.bits)


if __name__ == "__main__":
    main()
