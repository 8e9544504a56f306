"""Sign copies for the delivery worker, in the event loop or in a pool of processes.

dkimpy does RSA in pure Python: about 6-7 ms a signature with a 2048-bit key,
during which the loop (and every SMTP session on it) waits. Personalised copies
need one signature each, so with `processes > 0` those are computed in worker
processes instead, which lets the loop keep sending and uses the other cores.

dkimpy (and dnspython under it) is imported only when a key is configured.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from types import TracebackType
from typing import TYPE_CHECKING

from ccrlist.config.settings import Settings
from ccrlist.delivery.dkim_errors import SigningFailed

if TYPE_CHECKING:
    from ccrlist.delivery.dkim_sign import DkimSigner


class CopySigner:
    """Gives the worker DKIM-Signature fields; close it (or use `with`) to stop the pool."""

    def __init__(self, signer: DkimSigner, processes: int = 0) -> None:
        self.signer = signer
        self.processes = max(0, processes)
        self._pool: ProcessPoolExecutor | None = None

    def describe(self) -> str:
        where = (f"in {self.processes} process(es)" if self.processes
                 else "in the delivery loop")
        return (f"d={self.signer.domain} s={self.signer.selector}; personalised copies "
                f"are signed {where}")

    async def signature(self, message: bytes) -> bytes:
        """The DKIM-Signature field for `message`; raises `SigningFailed`."""
        if not self.processes:
            return self.signer.signature(message)
        loop = asyncio.get_running_loop()
        pool = self._executor()
        try:
            return await loop.run_in_executor(pool, self.signer.signature, message)
        except BrokenProcessPool as exc:
            # A worker process died (killed, out of memory): start afresh next time. Only
            # this broken pool goes: a fresh one that another signature already started
            # must not be shut down (its waiting signatures would be cancelled).
            if self._pool is pool:
                self._shutdown()
            raise SigningFailed(f"signing process died: {exc}") from exc

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # forkserver, not fork: the parent runs threads (aiosqlite), and forking
            # a threaded process can copy a held lock into the child.
            self._pool = ProcessPoolExecutor(
                self.processes, mp_context=multiprocessing.get_context("forkserver"))
        return self._pool

    def _shutdown(self, wait: bool = False) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=wait, cancel_futures=True)

    def close(self) -> None:
        self._shutdown(wait=True)

    def __enter__(self) -> CopySigner:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def copy_signer(settings: Settings) -> CopySigner | None:
    """Load `[dkim] key_file` once, at start-up; None when it is empty (mail goes out unsigned).

    Raises `DkimKeyError` for a missing, unreadable or unusable key.
    """
    if settings.dkim.key_file is None:
        return None
    from ccrlist.delivery.dkim_sign import load_signer

    return CopySigner(load_signer(settings, settings.dkim.key_file),
                      settings.dkim.sign_processes)
