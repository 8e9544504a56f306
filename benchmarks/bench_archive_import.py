"""Archive import benchmark: `ccrlist archive import` of a 100,000-message mbox.

    python benchmarks/bench_archive_import.py [--posts 100000] [--threads 20000] [--rounds 3]

Writes the mbox once (benchmarks/archive_data.py: English and French posts in threads,
replies quoting, some HTML posts and attachments), then, in interleaved rounds, times
the real command in a subprocess (interpreter start included) into a fresh database,
and beside it the floor: the standard library's `mailbox` reading the same file and
one `executemany` storing the raw messages in SQLite with WAL and synchronous=FULL
(no parsing, threading or search index). Goal: the import under 60 s.
"""

from __future__ import annotations

import argparse
import mailbox
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from archive_data import write_history

ROOT = Path(__file__).resolve().parent.parent


def floor(mbox: Path, folder: Path) -> float:
    """Seconds for the stdlib to read the mbox and SQLite to store its messages raw."""
    start = time.perf_counter()
    with sqlite3.connect(folder / "floor.sqlite3") as conn:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("CREATE TABLE raw (id INTEGER PRIMARY KEY, body BLOB)")
        conn.executemany("INSERT INTO raw (body) VALUES (?)",
                         ((m.as_bytes(),) for m in mailbox.mbox(mbox)))
    return time.perf_counter() - start


def ours(mbox: Path, folder: Path, posts: int) -> float:
    config = folder / "ccr.toml"
    config.write_text(f'data_dir = "{folder / "var"}"\n', encoding="utf-8")
    start = time.perf_counter()
    done = subprocess.run([sys.executable, str(ROOT / "cli.py"), "--config", str(config),
                           "archive", "import", str(mbox), "--list", "ccrlist"],
                          capture_output=True, text=True, timeout=900)
    seconds = time.perf_counter() - start
    if done.returncode != 0 or f"{posts} imported" not in done.stdout:
        raise SystemExit(f"import failed ({done.returncode}): {done.stdout}{done.stderr[-2000:]}")
    with sqlite3.connect(folder / "var" / "ccr.sqlite3") as conn:
        archived = conn.execute("SELECT count(*) FROM archive").fetchone()[0]
        threads = conn.execute("SELECT count(*) FROM archive_threads").fetchone()[0]
    if archived != posts:
        raise SystemExit(f"archived {archived} posts, expected {posts}")
    print(f"  imported {archived} posts in {threads} threads", flush=True)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--threads", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-archive-import-") as tmp:
        mbox = Path(tmp) / "history.mbox"
        start = time.perf_counter()
        write_history(mbox, args.posts, args.threads)
        print(f"wrote {mbox.stat().st_size / 1e6:.0f} MB, {args.posts} posts in "
              f"{args.threads} threads ({time.perf_counter() - start:.1f} s)", flush=True)
        base: list[float] = []
        mine: list[float] = []
        for n in range(args.rounds):
            folder = Path(tmp) / f"round{n}"
            folder.mkdir()
            base.append(floor(mbox, folder))
            mine.append(ours(mbox, folder, args.posts))
            print(f"round {n + 1}: floor {base[-1]:.1f} s, ccrlist archive import "
                  f"{mine[-1]:.1f} s", flush=True)
    b, m = statistics.median(base), statistics.median(mine)
    print(f"posts={args.posts} threads={args.threads} rounds={args.rounds} "
          f"cpus={os.cpu_count()} load={os.getloadavg()[0]:.1f}")
    print(f"floor (stdlib mailbox + raw executemany): {b:.1f} s (median)")
    print(f"ccrlist archive import:                   {m:.1f} s (median; goal < 60 s), "
          f"{args.posts / m:.0f} posts/s, {m / b:.1f}x the floor")


if __name__ == "__main__":
    main()
