"""How much the commands log on standard error: `-q` only problems, `-v` progress, `-vv`
everything, tracebacks of known conditions included. `cli.py` sets it up once; `ccrlist
serve` logs its progress (one line per post and per delivery pass) unless `-q`."""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

VERBOSITY = "ccr.verbosity"  # key in click's context `meta`: -1 quiet, 0, 1 (-v), 2 (-vv)
OWN_LOGGERS = ("ccrlist", "echronicle", "subscribers", "cli")
FORMAT = "%(asctime)s %(name)s %(levelname)s %(message)s"


def level_for(verbosity: int, serving: bool = False) -> int:
    """The level of our own loggers for a verbosity; a server's default is its progress."""
    if verbosity >= 2:
        return logging.DEBUG
    if verbosity == 1 or (verbosity == 0 and serving):
        return logging.INFO
    return logging.WARNING


def configure(meta: MutableMapping[str, Any], verbosity: int) -> None:
    """One handler on standard error; our loggers at the verbosity's level, other
    libraries' at WARNING unless `-vv`."""
    logging.basicConfig(level=logging.DEBUG if verbosity >= 2 else logging.WARNING,
                        format=FORMAT, stream=sys.stderr)
    # The format above uses no caller, thread or process fields; not collecting them
    # (the logging HOWTO's "Optimization" switches) halves the cost of the line that
    # `serve` logs for every post.
    logging._srcfile = None
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    meta[VERBOSITY] = verbosity
    for name in OWN_LOGGERS:
        logging.getLogger(name).setLevel(level_for(verbosity))


def serving(meta: MutableMapping[str, Any]) -> None:
    """`ccrlist serve`: log progress by default."""
    logging.getLogger("ccrlist").setLevel(level_for(int(meta.get(VERBOSITY, 0)), serving=True))
