"""Benchmark `chronicle publish`: building only, and sending to 10,000 subscribers.

Run from the repository root: python benchmarks/bench_publish.py [--subscribers 10000]
                                                                 [--rounds 3] [--bits 2048]
Measures, each as wall time of a fresh `python -c ... chronicle publish` process:
- `chronicle publish vol12-2 --no-send`, and a 500-issue archive rebuild;
- `chronicle publish vol12-2` sending to N subscribers through Postfix's smtp-sink
  (everything: interpreter start, checks, pages, queueing, one personalised copy each),
  DKIM-signed with a fresh RSA key and unsigned, interleaved for --rounds rounds.
Goals: --no-send under 0.5 s including interpreter start; 500 issues under 10 s;
sending towards 1,000 messages/s signed (issue 16).
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
RUNS = 5
ISSUES = 500
PUBLISH = [sys.executable, "-c",
           f"import sys; sys.path.insert(0, {str(ROOT)!r}); from cli import chronicle_main; "
           "sys.argv = ['chronicle', *sys.argv[1:]]; chronicle_main()"]


def _time(command: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - start


def _median(command: list[str], cwd: Path) -> float:
    return statistics.median(_time(command, cwd) for _ in range(RUNS))


def _write_config(folder: Path) -> None:
    (folder / "ccr.toml").write_text('data_dir = "var"\nissues_dir = "issues"\n'
                                     '[site]\noutput_dir = "site"\n', "utf-8")


def generate_issues(folder: Path, count: int) -> None:
    """`count` issue files modelled on vol12-2, with distinct ids and dates."""
    template = (ROOT / "issues" / "vol12-2.md").read_text("utf-8")
    for n in range(count):
        volume, number = 1 + n // 10, 1 + n % 10
        year = 2000 + n // 10
        text = (template.replace("volume: 12", f"volume: {volume}")
                .replace("number: 2", f"number: {number}")
                .replace("date: 2017-10-03", f"date: {year}-{number:02d}-03"))
        (folder / f"vol{volume}-{number}.md").write_text(text, "utf-8")


async def _subscribe(folder: Path, count: int) -> None:
    from ccrlist.config.settings import load_settings
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
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "issues").mkdir()
        shutil.copy(ROOT / "issues" / "vol12-2.md", work / "issues")
        _write_config(work)
        baseline = _median([sys.executable, "-c", "pass"], work)
        publish_cmd = [sys.executable, "-c",
                       f"import sys; sys.path.insert(0, {str(ROOT)!r}); from cli import "
                       "chronicle_main; sys.argv = ['chronicle', 'publish', 'vol12-2', "
                       "'--no-send']; chronicle_main()"]
        _time(publish_cmd, work)  # warm-up: first build writes the site and .pyc files
        publish = _median(publish_cmd, work)
        print(f"python -c pass (baseline):          {baseline * 1000:7.1f} ms")
        print(f"chronicle publish vol12-2 --no-send: {publish * 1000:7.1f} ms "
              f"({publish / baseline:.1f}x baseline; goal < 500 ms: "
              f"{'met' if publish < 0.5 else 'MISSED'})")

        big = work / "big"
        (big / "issues").mkdir(parents=True)
        generate_issues(big / "issues", ISSUES)
        _write_config(big)
        build_cmd = [sys.executable, "-c",
                     f"import sys; sys.path.insert(0, {str(ROOT)!r}); from cli import "
                     "chronicle_main; sys.argv = ['chronicle', 'build']; chronicle_main()"]
        cold = _time(build_cmd, big)
        warm = _time(build_cmd, big)  # every file unchanged: rendering without writing
        print(f"chronicle build, {ISSUES} issues (cold):  {cold:7.2f} s "
              f"({cold / ISSUES * 1000:.1f} ms/issue; goal < 10 s: "
              f"{'met' if cold < 10 else 'MISSED'})")
        print(f"chronicle build, {ISSUES} issues (again): {warm:7.2f} s")
    bench_send(args.subscribers, args.rounds, args.bits)


if __name__ == "__main__":
    main()
