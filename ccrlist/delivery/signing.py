"""Sign copies for the delivery worker: keys read once at start-up, RSA off the event loop.

An RSA-2048 signature costs OpenSSL 0.35-0.75 ms of CPU (depending on the machine), and
OpenSSL releases the GIL while it computes one. So copies are signed in one thread beside
the loop: the loop keeps sending while the other core signs. The thread takes every
request waiting and hands the results back in one wake-up of the loop, so a signature
costs the loop about 0.03 ms instead of the 0.1 ms of `run_in_executor`. Ed25519 alone
(about 0.05 ms) is signed in the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import queue
import threading
from pathlib import Path
from types import TracebackType

from ccrlist.config.settings import Settings
from ccrlist.delivery.dkim_errors import DkimKeyError, SigningFailed
from ccrlist.delivery.dkim_keys import KeyType, read_private_key, valid_selector
from ccrlist.delivery.dkim_sign import DkimKey, DkimSigner, PreparedMessage

_PROBE = b"From: probe@example.org\r\nSubject: key check\r\n\r\nkey check\r\n"

Job = tuple[PreparedMessage, "str | None", "asyncio.Future[bytes]"]
Done = list[tuple["asyncio.Future[bytes]", bytes | None, BaseException | None]]


class SigningThread:
    """One thread computing DKIM fields for the futures of any event loop, until `stop`."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="dkim-sign", daemon=True)
        self._thread.start()

    def submit(self, prepared: PreparedMessage, token: str | None) -> asyncio.Future[bytes]:
        done: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._jobs.put((prepared, token, done))
        return done

    def stop(self) -> None:
        self._jobs.put(None)
        self._thread.join()

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            finished: dict[asyncio.AbstractEventLoop, Done] = {}
            while job is not None:
                prepared, token, future = job
                item: tuple[asyncio.Future[bytes], bytes | None, BaseException | None]
                try:
                    item = (future, prepared.fields(token), None)
                except BaseException as exc:  # handed to the waiting copy, which is deferred
                    item = (future, None, exc)
                finished.setdefault(future.get_loop(), []).append(item)
                try:
                    job = self._jobs.get_nowait()
                except queue.Empty:
                    break
            for loop, items in finished.items():
                with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits
                    loop.call_soon_threadsafe(_settle, items)
            if job is None:
                return


def _settle(items: Done) -> None:
    for future, fields, exc in items:
        if future.done():
            continue
        if exc is not None:
            future.set_exception(exc)
        else:
            assert fields is not None
            future.set_result(fields)


class CopySigner:
    """Gives the worker DKIM-Signature fields; close it (or use `with`) to stop its thread."""

    def __init__(self, signer: DkimSigner, threaded: bool | None = None) -> None:
        self.signer = signer
        # Only RSA is worth handing to another thread.
        self.threaded = (any(k.algorithm == b"rsa-sha256" for k in signer.keys)
                         if threaded is None else threaded)
        self._thread: SigningThread | None = None

    def describe(self) -> str:
        keys = ", ".join(f"{k.algorithm.decode()} d={k.domain} s={k.selector}"
                         for k in self.signer.keys)
        where = "in a signing thread" if self.threaded else "in the delivery loop"
        return f"{keys}; personalised copies are signed {where}"

    def prepare(self, message: bytes, slot: bytes | None) -> PreparedMessage:
        """`message` canonicalised once for all its copies; raises `SigningFailed`."""
        return self.signer.prepare(message, slot)

    async def fields(self, prepared: PreparedMessage, token: str | None) -> bytes:
        """The DKIM-Signature fields for the copy with `token`; raises `SigningFailed`."""
        return await self.request(prepared, token)

    def request(self, prepared: PreparedMessage, token: str | None) -> asyncio.Future[bytes]:
        """`fields`, started now: the future gets them (or `SigningFailed`) when ready."""
        if self.threaded:
            if self._thread is None:
                self._thread = SigningThread()
            return self._thread.submit(prepared, token)
        done: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        try:
            done.set_result(prepared.fields(token))
        except SigningFailed as exc:
            done.set_exception(exc)
        return done

    def close(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.stop()

    def __enter__(self) -> CopySigner:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def _read_key(path: Path, setting: str, key_type: KeyType, selector: str,
              domain: str) -> DkimKey:
    source = f"[dkim] {setting} {path}"
    try:
        pem = path.read_bytes()
    except FileNotFoundError:
        hint = " --type ed25519" if key_type == "ed25519" else ""
        raise DkimKeyError(f"{source}: no such file (create one with "
                           f"'ccrlist dkim keygen{hint}')") from None
    except OSError as exc:
        raise DkimKeyError(f"{source}: cannot read: {exc.strerror or exc}") from None
    return DkimKey(selector, domain, read_private_key(pem, key_type, source))


def load_signer(settings: Settings) -> DkimSigner | None:
    """Read and check the `[dkim]` key files; None when `key_file` is empty (no signing)."""
    dkim = settings.dkim
    if dkim.key_file is None:
        if dkim.ed25519_key_file is not None:
            raise DkimKeyError("[dkim] ed25519_key_file needs [dkim] key_file too: receivers "
                               "that do not know ed25519-sha256 need the RSA signature")
        return None
    try:
        domain = settings.dkim_domain.encode("idna").decode("ascii")
    except UnicodeError:
        raise DkimKeyError(f"[dkim] domain {settings.dkim_domain!r} is not a domain "
                           "name") from None
    for name, selector in (("selector", dkim.selector),
                           ("ed25519_selector", dkim.ed25519_selector)):
        if not valid_selector(selector):
            raise DkimKeyError(f"[dkim] {name} {selector!r} is not a DNS label")
    keys = [_read_key(dkim.key_file, "key_file", "rsa", dkim.selector, domain)]
    if dkim.ed25519_key_file is not None:
        if dkim.ed25519_selector == dkim.selector:
            raise DkimKeyError("[dkim] ed25519_selector must differ from [dkim] selector: "
                               "each selector publishes one key")
        keys.append(_read_key(dkim.ed25519_key_file, "ed25519_key_file", "ed25519",
                              dkim.ed25519_selector, domain))
    signer = DkimSigner(tuple(keys))
    for key in keys:  # a key OpenSSL loads but cannot sign with stops us here, not later
        try:
            dataclasses.replace(signer, keys=(key,)).signature(_PROBE)
        except SigningFailed as exc:
            raise DkimKeyError(f"[dkim] key for selector {key.selector}: {exc}") from None
    return signer


def copy_signer(settings: Settings) -> CopySigner | None:
    """Load the `[dkim]` keys once, at start-up; None when `key_file` is empty (mail goes out
    unsigned). Raises `DkimKeyError` for a missing, unreadable or unusable key."""
    signer = load_signer(settings)
    return None if signer is None else CopySigner(signer)
