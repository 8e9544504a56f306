"""Test helpers for ccrlist and the outbox: a recording relay, free ports, settings, waits,
and `ccrlist serve` running in the test's event loop with a real SMTP client."""

from __future__ import annotations

import asyncio
import dataclasses
import socket
import subprocess
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiosmtplib
from aiosmtpd.controller import Controller

from ccrlist.config.settings import (
    AuthSettings,
    DeliverySettings,
    PostingSettings,
    RelaySettings,
    ServerSettings,
    Settings,
    SiteSettings,
    WebSettings,
)
from ccrlist.server import serve
from subscribers.db import open_database
from subscribers.members import MemberStore
from subscribers.models import NewMember

DOMAIN = "lists.example.org"
LIST = f"ccrlist@{DOMAIN}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Delivered:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    smtp_utf8: bool = False  # MAIL FROM asked for SMTPUTF8


@dataclass
class RecordingRelay:
    """An upstream relay that records what it accepts and can refuse or drop on request."""

    messages: list[Delivered] = field(default_factory=list)
    rcpt_replies: dict[str, str] = field(default_factory=dict)  # recipient -> reply to give
    data_reply: str = ""  # e.g. "451 4.3.0 busy": refuse every DATA
    drop_data: bool = False  # close the connection instead of answering DATA
    delay: float = 0.0  # seconds to wait before answering each DATA
    gate: threading.Event | None = None  # when set up, DATA waits until the test opens it
    held: int = 0  # DATA commands waiting at the gate so far
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          options: list[str]) -> str:
        reply = self.rcpt_replies.get(address)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)  # deliberate delay: a slow relay
        if self.gate is not None:
            with self.lock:
                self.held += 1
            await asyncio.get_running_loop().run_in_executor(None, self.gate.wait, 30)
        if self.drop_data:
            server.transport.close()
            return "421 dropped"
        if self.data_reply:
            return self.data_reply
        with self.lock:
            self.messages.append(Delivered(envelope.mail_from, list(envelope.rcpt_tos),
                                           bytes(envelope.original_content),
                                           bool(envelope.smtp_utf8)))
        return "250 2.0.0 queued"

    def recipients(self) -> list[str]:
        with self.lock:
            return [r for m in self.messages for r in m.rcpt_tos]


def start_relay(relay: RecordingRelay, port: int | None = None,
                size_limit: int | None = None) -> Controller:
    """`relay` on loopback; with `size_limit` it offers SIZE and refuses larger mail."""
    controller = Controller(relay, hostname="127.0.0.1", port=port or free_port(),
                            enable_SMTPUTF8=True, data_size_limit=size_limit)
    controller.start()
    return controller


def make_settings(tmp_path: Path, relay_port: int | None, **delivery: Any) -> Settings:
    relay = None if relay_port is None else RelaySettings(host="127.0.0.1", port=relay_port,
                                                          timeout=5.0)
    posting = delivery.pop("posting", PostingSettings())
    # Tests never reach real DNS: authentication is off unless a test points it at a stub.
    auth = delivery.pop("auth", AuthSettings(policy="off"))
    return dataclasses.replace(
        Settings(), domain=DOMAIN, data_dir=tmp_path / "var", issues_dir=tmp_path / "issues",
        site=SiteSettings(output_dir=tmp_path / "site"),
        server=ServerSettings(host="127.0.0.1", port=0), relay=relay,
        web=WebSettings(port=0),
        delivery=DeliverySettings(**{"retry_base_seconds": 0.2, **delivery}), posting=posting,
        auth=auth)


def write_serve_config(tmp_path: Path, relay_port: int, *, top: str = "", server: str = "",
                       delivery: str = "", more: str = "") -> tuple[Path, int]:
    """`tmp_path/ccr.toml` for a `ccrlist serve` subprocess on free loopback ports, relaying to
    `relay_port`, authentication off; returns it and the SMTP port. `top`, `server` and
    `delivery` are more lines of the top level and of those sections, `more` whole sections
    (TOML, one setting a line)."""
    port = free_port()
    config = tmp_path / "ccr.toml"
    config.write_text(f"""
domain = "{DOMAIN}"
data_dir = "{tmp_path / 'var'}"
{top}
[server]
host = "127.0.0.1"
port = {port}
{server}
[relay]
host = "127.0.0.1"
port = {relay_port}
timeout = 5.0
[delivery]
{delivery}
[web]
port = {free_port()}
[auth]
policy = "off"
{more}
""", encoding="utf-8")
    return config, port


def wait_listening(proc: subprocess.Popen[bytes], port: int, log: Path,
                   seconds: float = 15.0) -> None:
    """Until `proc` (a `ccrlist serve`) accepts connections on `port`; fail with the end
    of its log if it exits first, and kill it if it never listens."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"serve exited early: {log.read_text()[-3000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    proc.kill()
    proc.wait()
    raise AssertionError("serve did not start listening")


async def add_members(settings: Settings, addresses: Sequence[str],
                      list_name: str = "ccrlist") -> None:
    conn = await open_database(settings.database_path)
    try:
        await MemberStore(conn).add(list_name, [NewMember(a) for a in addresses])
    finally:
        await conn.close()


async def wait_for(condition: Callable[[], bool], timeout: float = 10.0,
                   what: str = "condition") -> None:
    """Poll `condition` until true; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.02)


async def rows(settings: Settings, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    """Rows of `sql` on the server's database, read on a connection of the test's own."""
    conn = await open_database(settings.database_path)
    try:
        return [tuple(r) for r in await conn.execute_fetchall(sql, args)]
    finally:
        await conn.close()


async def queue_settled(settings: Settings) -> bool:
    """Every accepted post is expanded and no delivery waits to be tried: nothing more will
    reach the relay unless something new arrives."""
    [(unexpanded, waiting)] = await rows(
        settings, "SELECT (SELECT count(*) FROM posts WHERE status = 'accepted' AND expanded = 0),"
                  " (SELECT count(*) FROM deliveries WHERE status IN ('pending', 'deferred'))")
    return unexpanded == 0 and waiting == 0


async def wait_until(condition: Callable[[], Awaitable[bool]], timeout: float = 10.0,
                     what: str = "condition") -> None:
    """`wait_for` for a condition that must be awaited (a database read)."""
    deadline = time.monotonic() + timeout
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.05)


VERP_KEY = b"test VERP key"  # for workers made in tests; serve derives its own


def message(author: str = "alice@example.org", subject: str = "Hello",
            message_id: str = "<m1@example.org>", body: str = "Hi all.\r\n",
            extra: str = "") -> bytes:
    return (f"From: {author}\r\nTo: ccrlist@{DOMAIN}\r\nSubject: {subject}\r\n"
            f"Message-ID: {message_id}\r\n{extra}\r\n{body}").encode()


@dataclass
class Running:
    settings: Settings
    port: int
    relay: RecordingRelay
    notices: list[str] = field(default_factory=list)  # what serve said at start-up

    @property
    def web_url(self) -> str:
        """The subscription pages' address, as serve announced it."""
        [line] = [n for n in self.notices if n.startswith("subscription pages on ")]
        return line.removeprefix("subscription pages on ")


@asynccontextmanager
async def serving(settings: Settings, relay: RecordingRelay,
                  members: Sequence[str] = (), **options: Any) -> AsyncIterator[Running]:
    """`ccrlist serve` on loopback (SMTP and web) until the block ends; `options` go to
    `serve` (the digest runner's `clock` and `digest_poll`)."""
    if members:
        await add_members(settings, members)
    stop = asyncio.Event()
    notices: list[str] = []
    listening: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(serve(settings, stop, on_listening=listening.set_result,
                                     say=notices.append, **options))
    port = await asyncio.wait_for(listening, 10)
    try:
        yield Running(settings, port, relay, notices)
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


async def send(port: int, raw: bytes, sender: str = "alice@example.org",
               rcpt: str = LIST) -> tuple[int, str]:
    """Send one message; return the reply to DATA (or to the first refused command)."""
    smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=10)
    await smtp.connect()
    try:
        await smtp.ehlo()
        await smtp.mail(sender)
        code, text = await smtp.rcpt(rcpt)
        if code >= 400:
            return code, text
        response = await smtp.data(raw)
        return response.code, response.message
    except aiosmtplib.SMTPResponseException as exc:
        return exc.code, exc.message
    finally:
        smtp.close()


def subscribe_newsletter(settings: Settings, people: Sequence[tuple[str, str]]) -> dict[str, str]:
    """Subscribe (address, language) pairs to the newsletter list; their tokens by address."""
    async def go() -> dict[str, str]:
        conn = await open_database(settings.database_path)
        try:
            store = MemberStore(conn)
            if await store.get_list(settings.newsletter.list) is None:
                await store.create_list(settings.newsletter.list, "announce")
            await store.add(settings.newsletter.list,
                            [NewMember(a, "", lang) for a, lang in people])  # type: ignore[arg-type]
            return {m.address: m.token for m in await store.members(settings.newsletter.list)}
        finally:
            await conn.close()

    return asyncio.run(go())
