"""Archive import benchmark: `ccrlist archive import` of a 100,000-message mbox.

    python benchmarks/bench_archive_import.py [--posts 100000] [--threads 20000] [--rounds 3]

Writes the mbox once (benchmarks/archive_data.py: English and French posts in threads,
replies quoting, some HTML posts and attachments), then, in interleaved rounds, times
the real command in a subprocess (interpreter start included) into a fresh database,
and beside it the floor: the file split naively at every `From ` line and the pieces
stored raw in SQLite with WAL and synchronous=FULL in one `executemany` (no parsing,
threading or search index). Goal: the import under 60 s. Also prints the import's CPU
seconds, which a busy machine changes less than its wall-clock time.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
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
    """Seconds to split the mbox naively at every `From ` line and store the pieces raw in
    SQLite (WAL, synchronous=FULL) in one executemany: reading and writing, nothing else."""
    start = time.perf_counter()
    with sqlite3.connect(folder / "floor.sqlite3") as conn:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("CREATE TABLE raw (id INTEGER PRIMARY KEY, body BLOB)")
        conn.executemany("INSERT INTO raw (body) VALUES (?)",
                         ((m,) for m in re.split(rb"\n(?=From )", mbox.read_bytes())))
    return time.perf_counter() - start


def ours(mbox: Path, folder: Path, posts: int) -> tuple[float, float]:
    """Wall-clock and CPU seconds (user + system) of the import command."""
    config = folder / "ccr.toml"
    config.write_text(f'data_dir = "{folder / "var"}"\n', encoding="utf-8")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, str(ROOT / "cli.py"), "--config", str(config),
                           "archive", "import", str(mbox), "--list", "ccrlist"],
                          capture_output=True, text=True, timeout=900)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode != 0 or f"{posts} imported" not in done.stdout:
        raise SystemExit(f"import failed ({done.returncode}): {done.stdout}{done.stderr[-2000:]}")
    with sqlite3.connect(folder / "var" / "ccr.sqlite3") as conn:
        archived = conn.execute("SELECT count(*) FROM archive").fetchone()[0]
        threads = conn.execute("SELECT count(*) FROM archive_threads").fetchone()[0]
    if archived != posts:
        raise SystemExit(f"archived {archived} posts, expected {posts}")
    print(f"  imported {archived} posts in {threads} threads", flush=True)
    return seconds, cpu


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
        cpus: list[float] = []
        for n in range(args.rounds):
            folder = Path(tmp) / f"round{n}"
            folder.mkdir()
            base.append(floor(mbox, folder))
            wall, cpu = ours(mbox, folder, args.posts)
            mine.append(wall)
            cpus.append(cpu)
            print(f"round {n + 1}: floor {base[-1]:.1f} s, ccrlist archive import "
                  f"{wall:.1f} s ({cpu:.1f} s of CPU)", flush=True)
    b, m = statistics.median(base), statistics.median(mine)
    print(f"posts={args.posts} threads={args.threads} rounds={args.rounds} "
          f"cpus={os.cpu_count()} load={os.getloadavg()[0]:.1f}")
    print(f"floor (naive split + raw executemany):    {b:.1f} s (median)")
    print(f"ccrlist archive import:                   {m:.1f} s (median; goal < 60 s), "
          f"{args.posts / m:.0f} posts/s, {m / b:.1f}x the floor; "
          f"{statistics.median(cpus):.1f} s of CPU (median)")


if __name__ == "__main__":
    main()
