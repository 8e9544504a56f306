"""`ccrlist serve` in a process of its own whose digest runner reads the time from a file,
for crash tests: `python tests/serve_with_clock.py CONFIG CLOCK_FILE [CRASH_POINT]`.

The test writes epoch seconds into CLOCK_FILE to move the digests' clock. CRASH_POINT
makes the process kill itself with SIGKILL at a point no outside kill can aim at:
`in-commit` in the middle of a digest run's transaction (after its first digest is
queued, before the commit), `after-commit` right after the run committed (before any
digest is delivered).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ccrlist.config.loader import load_settings  # noqa: E402
from ccrlist.server import serve  # noqa: E402
from subscribers.digests import DigestStore  # noqa: E402
from subscribers.queue import QueueStore  # noqa: E402


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def arm(point: str) -> None:
    if point == "in-commit":
        enqueue = QueueStore.enqueue_in_transaction
        seen = 0

        async def enqueue_then_die(self: QueueStore, **kwargs: Any) -> Any:
            nonlocal seen
            result = await enqueue(self, **kwargs)
            if kwargs.get("source") == "digest":
                seen += 1
                if seen == 2:
                    die()
            return result

        QueueStore.enqueue_in_transaction = enqueue_then_die  # type: ignore[method-assign]
    elif point == "after-commit":
        commit = DigestStore.commit

        async def commit_then_die(self: DigestStore, run: Any) -> Any:
            result = await commit(self, run)
            if run.messages:
                die()
            return result

        DigestStore.commit = commit_then_die  # type: ignore[method-assign]
    elif point:
        raise SystemExit(f"unknown crash point {point!r}")


def main() -> None:
    config, clock_file = Path(sys.argv[1]), Path(sys.argv[2])
    arm(sys.argv[3] if len(sys.argv) > 3 else "")
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    settings = load_settings(config)

    def clock() -> float:
        return float(clock_file.read_text(encoding="ascii"))

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await serve(settings, stop, clock=clock, digest_poll=0.1)

    asyncio.run(run())


if __name__ == "__main__":
    main()
