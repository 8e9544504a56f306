"""Benchmark: `ccrlist members import` of 100,000 rows versus a bare sqlite3 executemany.

Run: python benchmarks/bench_import.py [--rows N] [--runs K]
Both runs use a fresh database in a temporary directory; the figure that
matters is the ratio, since the machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def write_csv(path: Path, rows: int) -> None:
    with path.open("w", encoding="utf-8") as out:
        out.write("email,name,lang\n")
        for i in range(rows):
            out.write(f"member{i}@org{i % 997}.example.org,Member {i},{'fr' if i % 3 else 'en'}\n")


def run_cli(workdir: Path, csv_path: Path) -> float:
    cli = shutil.which("ccrlist")
    command = [cli] if cli else [sys.executable, "-c", "import cli; cli.ccrlist_main()"]
    started = time.perf_counter()
    subprocess.run([*command, "members", "import", str(csv_path)], cwd=workdir, check=True,
                   capture_output=True, timeout=600)
    return time.perf_counter() - started


def run_bare(db_path: Path, csv_path: Path) -> float:
    """The floor: parse the same CSV and insert it with one executemany, synchronous=FULL."""
    started = time.perf_counter()
    conn = sqlite3.connect(db_path)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("CREATE TABLE people (address TEXT UNIQUE, name TEXT, lang TEXT)")
    with csv_path.open(encoding="utf-8") as src:
        next(src)
        rows = [line.rstrip("\n").split(",") for line in src]
    with conn:
        conn.executemany("INSERT INTO people VALUES (?, ?, ?)", rows)
    conn.close()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    cli_times: list[float] = []
    bare_times: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "members.csv"
        write_csv(csv_path, args.rows)
        for run in range(args.runs):
            workdir = Path(tmp) / f"cli{run}"
            workdir.mkdir()
            cli_times.append(run_cli(workdir, csv_path))
            bare_times.append(run_bare(Path(tmp) / f"bare{run}.sqlite3", csv_path))
    cli_s, bare_s = statistics.median(cli_times), statistics.median(bare_times)
    print(f"rows: {args.rows}, median of {args.runs} runs")
    print(f"ccrlist members import (with interpreter start): {cli_s:.2f} s "
          f"({args.rows / cli_s:,.0f} rows/s)")
    print(f"bare sqlite3 executemany baseline:                {bare_s:.2f} s")
    print(f"ratio (import / bare): {cli_s / bare_s:.1f}x")


if __name__ == "__main__":
    main()
