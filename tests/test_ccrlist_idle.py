"""An SMTP session's idle timeout (`[server] idle_timeout`): a silent client gets 421 4.4.2
and is closed; a slow one that keeps sending is not cut off. And sessions that end without
QUIT: a client that resets the connection leaves nothing behind to be logged as a traceback."""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import logging
import socket
import struct
import time
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from ccrlist_helpers import (
    DOMAIN,
    LIST,
    RecordingRelay,
    make_settings,
    message,
    serving,
    wait_for,
)

from ccrlist.config.settings import Settings
from ccrlist.intake import replies


def limited(tmp_path: Path, controller: Controller, **server: object) -> Settings:
    settings = make_settings(tmp_path, controller.port)
    return dataclasses.replace(settings, server=dataclasses.replace(settings.server, **server))


async def greeting(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    return reader, writer, await asyncio.wait_for(reader.readline(), 10)


async def test_an_idle_session_gets_421_and_is_closed(
        tmp_path: Path, relay: RecordingRelay, controller: Controller) -> None:
    settings = limited(tmp_path, controller, idle_timeout=0.5)
    async with serving(settings, relay) as running:
        reader, writer, line = await greeting(running.port)
        assert line.startswith(b"220 ")
        writer.write(b"EHLO client\r\n")
        while not (await asyncio.wait_for(reader.readline(), 10)).startswith(b"250 "):
            pass
        rest = await asyncio.wait_for(reader.read(), 10)  # nothing sent: the server speaks
        assert rest.decode().rstrip() == replies.IDLE_TIMEOUT.format(host=DOMAIN)
        writer.close()


async def test_a_post_arriving_slowly_is_not_cut_off(
        tmp_path: Path, relay: RecordingRelay, controller: Controller) -> None:
    """Slower in all than the idle timeout, but a line every 0.25 s: no idle client."""
    settings = limited(tmp_path, controller, idle_timeout=1.0)
    async with serving(settings, relay, ["alice@example.org"]) as running:
        reader, writer, _ = await greeting(running.port)

        async def say(command: bytes) -> bytes:
            writer.write(command)
            while True:
                line = await asyncio.wait_for(reader.readline(), 10)
                if line[3:4] != b"-":
                    return line

        await say(b"EHLO client\r\n")
        await say(b"MAIL FROM:<alice@example.org>\r\n")
        await say(f"RCPT TO:<{LIST}>\r\n".encode())
        assert (await say(b"DATA\r\n")).startswith(b"354")
        lines = message(body="line\r\n" * 10).split(b"\r\n")
        started = time.monotonic()
        for line in lines[:-1]:
            writer.write(line + b"\r\n")
            await asyncio.sleep(0.25)  # deliberate delay: a slow client, 3.75 s in all
        assert time.monotonic() - started > 3 * 1.0
        reply = await say(b".\r\n")
        assert reply.decode().rstrip() == replies.ACCEPTED
        writer.close()



def unread_errors() -> list[asyncio.Future[object]]:
    """Finished futures whose exception nobody read: asyncio logs each one as a traceback
    ("Future exception was never retrieved") when it is collected, as late as at exit."""
    return [thing for thing in gc.get_objects()
            if isinstance(thing, asyncio.Future) and thing.done() and not thing.cancelled()
            and getattr(thing, "_log_traceback", False)]


async def test_a_client_that_resets_the_connection_leaves_no_traceback_behind(
        tmp_path: Path, relay: RecordingRelay, controller: Controller,
        caplog: pytest.LogCaptureFixture) -> None:
    """Port probes and clients that give up reset the connection (RST) without QUIT; that
    is an ordinary end of a session, not an error for the log (issue 19)."""
    caplog.set_level(logging.INFO, logger="mail.log")  # aiosmtpd's "connection lost"
    settings = limited(tmp_path, controller)
    async with serving(settings, relay) as running:
        for _ in range(5):
            _, writer, line = await greeting(running.port)
            assert line.startswith(b"220 ")
            writer.get_extra_info("socket").setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()  # closed with linger 0: the server reads a reset

        def lost() -> int:
            return sum("connection lost" in r.getMessage() for r in caplog.records)

        await wait_for(lambda: lost() >= 5, what="the server to see the five resets")
        # Before the collector runs, the sessions' close waiters hold no unread error; and
        # when it has run, nothing was logged about one.
        assert unread_errors() == []
        gc.collect()
        assert not [r for r in caplog.records if "never retrieved" in r.getMessage()]
