"""Keep `ccrlist serve`'s C heap compact: at most two glibc malloc arenas.

glibc gives each thread that allocates an arena of its own, up to eight per core, and
memory freed in one arena is never reused by another. `serve` runs a dozen threads (one
per SQLite connection, the DKIM signer, the SPF resolvers), so under a stream of posts
each of them keeps its own free memory: 13 MB of a 158 MB peak in the memory benchmark.
Two arenas (what `MALLOC_ARENA_MAX=2` gives, as many servers set) cost nothing measurable
here: the threads mostly wait on SQLite or OpenSSL, not on malloc's locks.

Elsewhere than glibc, or when the operator set the number of arenas (`MALLOC_ARENA_MAX`,
or `glibc.malloc.arena_max` in `GLIBC_TUNABLES`), nothing is changed.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Mapping

M_ARENA_MAX = -8  # from glibc's <malloc.h>
ARENAS = 2


def limit_malloc_arenas(environ: Mapping[str, str], arenas: int = ARENAS) -> bool:
    """Before the threads start: at most `arenas` arenas. True when the limit was set."""
    if ("MALLOC_ARENA_MAX" in environ
            or "glibc.malloc.arena_max" in environ.get("GLIBC_TUNABLES", "")
            or not _glibc()):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_ARENA_MAX, arenas))


def _glibc() -> bool:
    """Whether this process runs on glibc (musl, macOS and the BSDs have no such arenas)."""
    try:
        return (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc")
    except (AttributeError, ValueError, OSError):  # no confstr, or no such name
        return False
