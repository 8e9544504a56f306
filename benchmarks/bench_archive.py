"""Archive pages benchmark: latency of the archive's pages and search at 100,000 posts in
20,000 threads, over real HTTP to `ccrlist serve`.

    python benchmarks/bench_archive.py [--posts 100000] [--threads 20000] [--requests 200]
                                       [--rounds 3] [--data DIR]

Builds the archive once with `ccrlist archive import` (benchmarks/archive_data.py; with
`--data DIR` it is kept there and reused), signs a member in (a members-only archive,
so every request pays for the session and membership check), then in interleaved
rounds asks, one request at a time, for: the list's index, a month, a thread, a message
and a search (two or three words, English or French, without accents, some with an
author or a date range), and beside them the subscribe form, the web app's simplest
page, as the floor. Prints p50/p95/p99 in ms. Goals: pages under 50 ms and searches
under 100 ms at p95.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from archive_data import write_history

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MEMBER = "reader@example.org"
WORDS = ["refugie", "reunion", "detention", "budget", "logement", "parrainage", "appeal",
         "sponsorship", "housing", "frontiere", "citoyennete", "workshop", "consultation",
         "quebec", "montreal", "protection", "famille", "youth", "webinar", "echeance"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def build(folder: Path, posts: int, threads: int) -> None:
    """The archive, imported once into `folder/var` (kept when it is already there)."""
    db = folder / "var" / "ccr.sqlite3"
    if db.exists():
        with sqlite3.connect(db) as conn:
            if conn.execute("SELECT count(*) FROM archive").fetchone()[0] == posts:
                return
        raise SystemExit(f"{db} holds another archive; use an empty --data folder")
    folder.mkdir(parents=True, exist_ok=True)
    mbox = folder / "history.mbox"
    write_history(mbox, posts, threads)
    config = folder / "import.toml"
    config.write_text(f'data_dir = "{folder / "var"}"\n', encoding="utf-8")
    start = time.perf_counter()
    subprocess.run([sys.executable, str(ROOT / "cli.py"), "--config", str(config), "archive",
                    "import", str(mbox), "--list", "ccrlist"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=1800)
    print(f"imported {posts} posts in {time.perf_counter() - start:.0f} s", flush=True)
    mbox.unlink()


def session_for(folder: Path) -> str:
    """A signed-in member's session cookie, made the way a sign-in link makes one."""
    subprocess.run([sys.executable, str(ROOT / "cli.py"), "--config",
                    str(folder / "import.toml"), "members", "add", MEMBER], check=True,
                   capture_output=True)

    async def sign_in() -> str:
        from subscribers.archive_access import ArchiveAccess
        from subscribers.db import open_database

        conn = await open_database(folder / "var" / "ccr.sqlite3")
        try:
            access = ArchiveAccess(conn)
            now = time.time()
            token = await access.create_signin("ccrlist", MEMBER, "", now, 3600)
            return (await access.use_signin(token, now, 86400))[4]
        finally:
            await conn.close()

    return asyncio.run(sign_in())


def targets(folder: Path, rng: random.Random, n: int) -> dict[str, list[str]]:
    with sqlite3.connect(folder / "var" / "ccr.sqlite3") as conn:
        months = [r[0] for r in conn.execute("SELECT month FROM archive_months")]
        threads = [r[0] for r in conn.execute("SELECT id FROM archive_threads")]
        links = [r[0] for r in conn.execute("SELECT permalink FROM posts")]
        authors = [r[0] for r in conn.execute("SELECT DISTINCT author FROM archive LIMIT 500")]

    def search() -> str:
        words = "+".join(rng.sample(WORDS, rng.choice((1, 2, 2, 3))))
        extra = rng.random()
        if extra < 0.2:
            words += f"&author={rng.choice(authors)}"
        elif extra < 0.4:
            year = rng.choice((2022, 2023, 2024, 2025))
            words += f"&from={year}-01-01&to={year}-06-30"
        return f"archive/ccrlist/search?q={words}"

    return {
        "floor: subscribe form": ["subscribe/ccrlist"] * n,
        "list index (months)": ["archive/ccrlist/"] * n,
        "month": [f"archive/ccrlist/{rng.choice(months)}/" for _ in range(n)],
        "thread": [f"archive/ccrlist/thread/{rng.choice(threads)}/" for _ in range(n)],
        "message": [f"archive/{rng.choice(links)}/" for _ in range(n)],
        "search": [search() for _ in range(n)],
    }


async def measure(base: str, session: str, paths: list[str]) -> list[float]:
    times: list[float] = []
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar, cookies={"ccr_archive": session}) as http:
        for path in paths:
            start = time.perf_counter()
            async with http.get(base + path) as response:
                await response.read()
                if response.status != 200:
                    raise SystemExit(f"{path}: {response.status}")
            times.append((time.perf_counter() - start) * 1000)
    return times


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--threads", type=int, default=20_000)
    parser.add_argument("--requests", type=int, default=200, help="of each kind, per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--data", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-archive-") as tmp:
        folder = args.data or Path(tmp)
        build(folder, args.posts, args.threads)
        session = session_for(folder)
        port, web = free_port(), free_port()
        config = folder / "serve.toml"
        config.write_text(f'data_dir = "{folder / "var"}"\n[server]\nport = {port}\n'
                          f'[web]\nport = {web}\nbase_url = "http://127.0.0.1:{web}/"\n'
                          '[auth]\npolicy = "off"\n', encoding="utf-8")
        with (folder / "serve.log").open("wb") as log:
            server = subprocess.Popen([sys.executable, str(ROOT / "cli.py"), "--config",
                                       str(config), "serve"], stderr=log)
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    socket.create_connection(("127.0.0.1", web), timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise SystemExit("ccrlist serve did not start") from None
                    time.sleep(0.1)
            base = f"http://127.0.0.1:{web}/"
            rng = random.Random(14)
            found: dict[str, list[float]] = {}
            for n in range(args.rounds):
                for kind, paths in targets(folder, rng, args.requests).items():
                    found.setdefault(kind, []).extend(asyncio.run(measure(base, session, paths)))
                print(f"round {n + 1} done", flush=True)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
    print(f"posts={args.posts} threads={args.threads} requests={args.requests}x{args.rounds} "
          f"each, one at a time; cpus={os.cpu_count()} load={os.getloadavg()[0]:.1f}")
    print(f"{'page':24} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
    for kind, times in found.items():
        print(f"{kind:24} {statistics.median(times):8.1f} {percentile(times, 95):8.1f} "
              f"{percentile(times, 99):8.1f}")


if __name__ == "__main__":
    main()
