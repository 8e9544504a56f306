"""What `ccrlist serve` checks before it says it serves: that it can write its database and,
with no relay, its outbox Maildir (a real write each, then undone), and whether it may send
from the queue now (the sender lock)."""

from __future__ import annotations

import mailbox
import os
from pathlib import Path

from ccrlist.config.settings import Settings
from ccrlist.delivery.sender_lock import SenderLock
from subscribers.db import Connection, DatabaseError, probe_write


class StartupError(Exception):
    """`serve` cannot work as configured; the message says what and where."""


async def check_database(conn: Connection, path: Path) -> None:
    try:
        await probe_write(conn)
    except DatabaseError as exc:
        raise StartupError(f"cannot write the database {path}: {exc}; every post would get "
                           "451 (check the file's and its folder's owner, mode and "
                           "mount)") from None


def check_outbox(settings: Settings) -> None:
    """With no `[relay]`, mail goes to the Maildir `data_dir/outbox`: write a file there."""
    if settings.relay is not None:
        return
    folder = settings.outbox_dir
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        mailbox.Maildir(folder, create=True)
        probe = folder / "tmp" / f"write-probe.{os.getpid()}"
        with probe.open("wb") as out:
            out.write(b"probe\n")
            out.flush()
            os.fsync(out.fileno())
        probe.unlink()
    except OSError as exc:
        raise StartupError(f"cannot write the outbox Maildir {folder} (where mail goes with "
                           f"no [relay]): {exc.strerror or exc}") from None


def take_sender_lock(sender: SenderLock) -> bool:
    """True when `serve` may send at once; False while another process sends."""
    try:
        return sender.acquire()
    except OSError as exc:
        raise StartupError(f"cannot open the sender lock {sender.path}: "
                           f"{exc.strerror or exc} (it lives beside the database)") from None
