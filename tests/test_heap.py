"""serve's memory: at most two glibc malloc arenas, and small page caches where asked."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

from ccrlist.heap import limit_malloc_arenas
from subscribers.db import LIGHT_CACHE_KIB, open_database

glibc = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's malloc only")

# Eight threads alive at once, each allocating through malloc (1 MB objects bypass
# Python's small-object allocator); glibc's malloc_stats() then lists one "Arena N:" per
# arena on standard error.
_THREADS = """
import ctypes, os, sys, threading
sys.path.insert(0, {root!r})
from ccrlist.heap import limit_malloc_arenas
if sys.argv[1] == "limit":
    print(limit_malloc_arenas(os.environ), flush=True)
barrier = threading.Barrier(8)
def work():
    kept = [bytearray(1 << 20) for _ in range(4)]
    barrier.wait()
    barrier.wait()
threads = [threading.Thread(target=work) for _ in range(8)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
ctypes.CDLL(None).malloc_stats()
"""


def _arenas(mode: str, env: dict[str, str]) -> tuple[int, str]:
    root = str(Path(__file__).resolve().parent.parent)
    done = subprocess.run([sys.executable, "-c", _THREADS.format(root=root), mode],
                          capture_output=True, text=True, timeout=60, env=env, check=True)
    return done.stderr.count("Arena "), done.stdout.strip()


def _env_without_arena_max() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}


@glibc
def test_limit_keeps_eight_threads_in_two_arenas() -> None:
    arenas, said = _arenas("limit", _env_without_arena_max())
    assert said == "True"
    assert arenas == 2


@glibc
def test_without_the_limit_the_threads_spread_over_more_arenas() -> None:
    """The check above can fail: unlimited, glibc gives the threads arenas of their own."""
    arenas, _ = _arenas("none", _env_without_arena_max())
    assert arenas > 2


@glibc
def test_the_operators_malloc_arena_max_wins() -> None:
    env = {**_env_without_arena_max(), "MALLOC_ARENA_MAX": "4"}
    arenas, said = _arenas("limit", env)
    assert said == "False"
    assert arenas == 4


def test_nothing_changes_when_malloc_arena_max_is_set() -> None:
    assert limit_malloc_arenas({"MALLOC_ARENA_MAX": "1"}) is False


async def test_a_light_connection_gets_a_small_page_cache(tmp_path: Path) -> None:
    light = await open_database(tmp_path / "db.sqlite3", LIGHT_CACHE_KIB)
    default = await open_database(tmp_path / "db.sqlite3")
    try:
        [(size,)] = await light.execute_fetchall("PRAGMA cache_size")
        [(usual,)] = await default.execute_fetchall("PRAGMA cache_size")
    finally:
        await light.close()
        await default.close()
    assert size == -LIGHT_CACHE_KIB
    assert usual == -2000  # SQLite's default, for the connections that work hard
