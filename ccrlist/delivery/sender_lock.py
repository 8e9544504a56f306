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
import logging
import os
from pathlib import Path

log = logging.getLogger("ccrlist.delivery")


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
        """Whether this process holds the lock now."""
        return self._fd is not None

    def acquire(self) -> bool:
        """Take the lock if no other process holds it; True when this process holds it.

        Raises OSError when the lock file cannot be opened at all.
        """
        for _ in range(3):  # a lock file replaced while we took it: take the new one
            if self._fd is not None:
                return True
            fd = self._open()
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                replaced = not self._still_at_path(fd)
            except BlockingIOError:
                os.close(fd)
                return False
            except BaseException:
                os.close(fd)
                raise
            if replaced:  # deleted or replaced after we opened it: our lock guards nothing
                os.close(fd)
                continue
            self._fd = fd
            self._name_holder(fd)
        return self._fd is not None

    def _still_at_path(self, fd: int) -> bool:
        try:
            return os.fstat(fd).st_ino == os.stat(self.path).st_ino
        except FileNotFoundError:
            return False

    def _open(self) -> int:
        flags = os.O_CREAT | os.O_CLOEXEC
        try:
            return os.open(self.path, os.O_RDWR | flags, 0o660)
        except PermissionError:
            # Another user's file we may only read (the server's, for an editor): flock
            # works on a descriptor opened for reading too.
            return os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)

    def _name_holder(self, fd: int) -> None:
        """Write who holds the lock, for the others' messages: best effort, since the lock
        itself is what matters (a full disk or a read-only descriptor only lose the name)."""
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
            os.write(fd, f"{self._who} (pid {os.getpid()})\n".encode())

    def release(self) -> None:
        """Give the lock up (closing the descriptor releases the flock); idempotent."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)

    def holder(self) -> str:
        """Who holds the lock, as its holder wrote it ("ccrlist serve (pid 412)")."""
        try:
            text = self.path.read_text(encoding="utf-8", errors="replace").strip()
        except OSError:
            text = ""
        return text or "another process"

    async def wait(self, stop: asyncio.Event, poll: float = 1.0) -> bool:
        """Take the lock as soon as it is free: True, or False when `stop` is set first.
        A lock file that cannot be opened (out of descriptors, say) is logged once per
        kind of error and tried again."""
        said: set[int | None] = set()
        while True:
            try:
                if self.acquire():
                    return True
            except OSError as exc:
                if exc.errno not in said:
                    said.add(exc.errno)
                    log.error("cannot open the sender lock %s: %s; delivery waits and tries "
                              "again", self.path, exc.strerror or exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), poll)
            if stop.is_set():
                return False
