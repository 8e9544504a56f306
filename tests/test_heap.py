"""serve's memory: at most two glibc malloc arenas, and small page caches where asked."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from ccrlist.heap import _glibc, limit_malloc_arenas
from ccrlist.server import _CONNECTIONS, _LIGHT
from subscribers.db import LIGHT_CACHE_KIB, open_database

glibc = pytest.mark.skipif(not _glibc(), reason="glibc's malloc only")

# Eight threads alive at once, each allocating through malloc (1 MB objects bypass
# Python's small-object allocator); glibc's malloc_stats() then lists one "Arena N:" per
# arena on standard error.
_THREADS = """
import ctypes, os, sys, threading
sys.path.insert(0, {root!r})
from ccrlist.heap import _glibc, limit_malloc_arenas
from ccrlist.server import _CONNECTIONS, _LIGHT
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
    return {k: v for k, v in os.environ.items()
            if k not in ("MALLOC_ARENA_MAX", "GLIBC_TUNABLES")}


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
@pytest.mark.parametrize("setting", [("MALLOC_ARENA_MAX", "4"),
                                     ("GLIBC_TUNABLES", "glibc.malloc.arena_max=4")])
def test_the_operators_choice_of_arenas_wins(setting: tuple[str, str]) -> None:
    name, value = setting
    arenas, said = _arenas("limit", {**_env_without_arena_max(), name: value})
    assert said == "False"
    assert arenas == 4


def test_nothing_changes_when_the_operator_chose() -> None:
    assert limit_malloc_arenas({"MALLOC_ARENA_MAX": "1"}) is False
    assert limit_malloc_arenas(
        {"GLIBC_TUNABLES": "glibc.malloc.tcache_count=0:glibc.malloc.arena_max=8"}) is False


def test_serves_light_connections_are_among_its_connections() -> None:
    """A misspelt role would silently keep SQLite's default cache."""
    assert set(_CONNECTIONS) > _LIGHT
    assert len(_CONNECTIONS) == len(set(_CONNECTIONS))


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
    # SQLite's default as built here, for the connections that work hard.
    with contextlib.closing(sqlite3.connect(":memory:")) as fresh:
        assert usual == fresh.execute("PRAGMA cache_size").fetchone()[0]


@pytest.mark.parametrize("kib", [0, -256])
async def test_a_page_cache_must_have_a_size(tmp_path: Path, kib: int) -> None:
    with pytest.raises(ValueError, match="page cache"):
        await open_database(tmp_path / "db.sqlite3", kib)
