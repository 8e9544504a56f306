"""One sender per database: the lock a process holds while it sends from the queue.

Two processes sending from one queue would each take the same due deliveries and send
them twice (`chronicle publish` while `ccrlist serve` runs sent 330 of 400 subscribers
two copies). So `ccrlist serve` holds this lock for as long as it runs, and
`chronicle publish` sends only when it can take it; otherwise it leaves the sending to
the process that holds it. The lock is the kernel's (`flock`) on a file beside the
database: it is released when its holder exits, `kill -9` included, so a crash never
leaves the queue locked. The file names its holder, for the messages of the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
from pathlib import Path


def lock_path(database_path: Path) -> Path:
    """The lock file of a database (beside it, as SQLite's own `-wal` and `-shm`)."""
    return database_path.with_name(database_path.name + "-sender.lock")


class SenderLock:
    """The right to send from the queue of the database at `database_path`."""

    def __init__(self, database_path: Path, who: str) -> None:
        self.path = lock_path(database_path)
        self._who = who
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> bool:
        """Take the lock if no other process holds it; True when this process holds it."""
        if self._fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o660)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.write(fd, f"{self._who} (pid {os.getpid()})\n".encode())
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)  # closing the last descriptor releases the flock

    def holder(self) -> str:
        """Who holds the lock, as its holder wrote it ("ccrlist serve (pid 412)")."""
        try:
            text = self.path.read_text(encoding="utf-8", errors="replace").strip()
        except OSError:
            text = ""
        return text or "another process"

    async def wait(self, stop: asyncio.Event, poll: float = 1.0) -> bool:
        """Take the lock as soon as it is free: True, or False when `stop` is set first."""
        while not self.acquire():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), poll)
            if stop.is_set():
                return False
        return True
