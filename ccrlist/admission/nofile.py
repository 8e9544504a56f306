"""Raise the process's open-files limit (RLIMIT_NOFILE) from its soft to its hard value.

Every connection is a file descriptor; a soft limit of 1,024 (the common default) or 256
lets a few hundred idle connections starve the server of descriptors for anything else.
Raising the soft limit up to the hard one needs no privilege.
"""

from __future__ import annotations

import resource

# Linux refuses a soft limit above fs.nr_open (1,048,576 by default), even when the hard
# limit is "unlimited"; far more than `serve` can use.
CEILING = 1 << 20


def _finite(limit: int) -> int:
    return CEILING if limit == resource.RLIM_INFINITY else limit


def raise_open_files_limit() -> tuple[int, int]:
    """(the soft limit before, the soft limit now): now the hard limit, when allowed."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    before, target = _finite(soft), min(_finite(hard), CEILING)
    if before >= target:
        return before, before
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ValueError, OSError):
        return before, before
    return before, target


def open_files_limit() -> int:
    """The soft limit now."""
    return _finite(resource.getrlimit(resource.RLIMIT_NOFILE)[0])
