"""Connection limits, idle timeouts and flood logging of `ccrlist serve` (issue 19): the pure
counting as tables, then the listeners over real loopback sockets."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from ccrlist_helpers import (
    DOMAIN,
    RecordingRelay,
    Running,
    make_settings,
    serving,
    wait_for,
)

from ccrlist.admission.flood import ACCEPT_FAILED, FloodLog, count_accept_errors
from ccrlist.admission.limits import ConnectionCounter, client_key, fit_to_open_files, networks
from ccrlist.config.settings import Settings
from ccrlist.intake import replies

# --- counting (pure) ------------------------------------------------------------------------


@pytest.mark.parametrize("ip, key", [
    ("192.0.2.7", "192.0.2.7"),
    ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
    ("2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"),
    ("::ffff:192.0.2.7", "192.0.2.7"),
    ("not an ip", "not an ip"),
])
def test_a_client_is_an_ipv4_address_or_an_ipv6_64(ip: str, key: str) -> None:
    assert client_key(ip) == key


def test_the_counter_refuses_past_each_limit_and_counts_out_again() -> None:
    counter = ConnectionCounter(total=6, per_ip=2, trusted=networks(["127.0.0.1"]))
    assert counter.admit("192.0.2.1") == ("192.0.2.1", None)
    assert counter.admit("192.0.2.1") == ("192.0.2.1", None)
    assert counter.admit("192.0.2.1") == ("192.0.2.1", "per_ip")
    assert counter.admit("2001:db8::1") == ("2001:db8::/64", None)
    assert counter.admit("2001:db8::2") == ("2001:db8::/64", None)
    assert counter.admit("2001:db8::3") == ("2001:db8::/64", "per_ip")  # the same /64
    # A trusted relay (our own Postfix) counts only towards the total.
    assert counter.admit("127.0.0.1") == ("", None)
    assert counter.admit("::ffff:127.0.0.1") == ("", None)
    assert counter.open == 6
    assert counter.admit("127.0.0.1") == ("127.0.0.1", "total")
    assert counter.admit("198.51.100.9") == ("198.51.100.9", "total")
    counter.release("192.0.2.1")
    counter.release("")
    assert counter.open == 4
    assert counter.admit("192.0.2.1") == ("192.0.2.1", None)
    assert counter.admit("192.0.2.1") == ("192.0.2.1", "per_ip")


@pytest.mark.parametrize("open_files, wanted, fitted", [
    (1_048_576, [200, 100], [200, 100]),
    (20_000, [200, 100], [200, 100]),
    (364, [200, 100], [200, 100]),  # exactly enough with the 64 of serve's own
    (256, [200, 100], [128, 64]),
    (128, [200, 100], [42, 21]),
    (64, [200, 100], [1, 1]),
    (256, [10, 5], [10, 5]),
])
def test_limits_shrink_in_proportion_to_fit_the_open_files(open_files: int, wanted: list[int],
                                                           fitted: list[int]) -> None:
    assert fit_to_open_files(open_files, wanted) == fitted


async def test_a_flood_is_logged_first_then_once_per_interval(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "ccrlist.admission")
    flood = FloodLog(interval=0.2)
    for n in range(1000):
        flood.note("SMTP connection refused: over the limit",
                   "192.0.2.9" if n < 600 else "192.0.2.8")
    assert len(caplog.records) == 1 and "(from 192.0.2.9)" in caplog.records[0].message
    await wait_for(lambda: len(caplog.records) == 2, what="the summary")
    assert caplog.records[1].message == ("in the last 0.2 s: 999 x SMTP connection refused: "
                                         "over the limit; most from 192.0.2.9 (599)")
    # Quiet for an interval: the next event is logged at once again.
    await wait_for(lambda: flood._timer is None, what="the flood log to fall quiet")
    flood.note("web connection refused", "192.0.2.9")
    assert len(caplog.records) == 3
    flood.close()


async def test_asyncio_accept_errors_are_counted_not_logged_each(
        caplog: pytest.LogCaptureFixture) -> None:
    loop = asyncio.get_running_loop()
    flood = FloodLog(interval=60)
    restore = count_accept_errors(loop, flood)
    try:
        for _ in range(500):
            loop.call_exception_handler({"message": ACCEPT_FAILED,
                                         "exception": OSError(24, "Too many open files")})
        flood.close()
    finally:
        restore()
    lines = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(lines) == 2 and not any(r.exc_info for r in lines)
    assert "499 x cannot accept a connection: Too many open files" in lines[1].message
    assert loop.get_exception_handler() is None


# --- the SMTP listener ----------------------------------------------------------------------

def limited(tmp_path: Path, controller: Controller, **server: object) -> Settings:
    settings = make_settings(tmp_path, controller.port)
    return dataclasses.replace(settings, server=dataclasses.replace(settings.server, **server))


async def greeting(port: int, source: str = "127.0.0.1"
                   ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
    return reader, writer, await asyncio.wait_for(reader.readline(), 10)


async def test_past_the_limits_a_connection_gets_421_at_once(
        tmp_path: Path, relay: RecordingRelay, controller: Controller) -> None:
    settings = limited(tmp_path, controller, max_connections=5, max_connections_per_ip=2)
    async with serving(settings, relay, ["alice@example.org"]) as running:
        held = []
        for _ in range(2):
            reader, writer, line = await greeting(running.port, "127.0.0.2")
            assert line.startswith(b"220 ")
            held.append(writer)
        reader, writer, line = await greeting(running.port, "127.0.0.2")
        assert line.decode().rstrip() == replies.TOO_MANY_FROM_YOU.format(host=DOMAIN)
        assert await asyncio.wait_for(reader.read(), 10) == b""
        writer.close()
        for source in ("127.0.0.3", "127.0.0.3", "127.0.0.4"):
            held.append((await greeting(running.port, source))[1])
        reader, writer, line = await greeting(running.port, "127.0.0.5")
        assert line.decode().rstrip() == replies.TOO_MANY_CONNECTIONS.format(host=DOMAIN)
        writer.close()
        for w in held:
            w.close()
        # Counted out again once closed: a member gets in.
        await wait_for_room(running)


async def wait_for_room(running: Running) -> None:
    deadline = time.monotonic() + 10
    while True:
        _reader, writer, line = await greeting(running.port)
        writer.close()
        if line.startswith(b"220 "):
            return
        assert time.monotonic() < deadline, line
        await asyncio.sleep(0.05)


# --- the web listener -----------------------------------------------------------------------

def web_limited(tmp_path: Path, controller: Controller, **web: object) -> Settings:
    settings = make_settings(tmp_path, controller.port)
    return dataclasses.replace(settings, web=dataclasses.replace(settings.web, **web))


def web_port(running: Running) -> int:
    return int(running.web_url.rstrip("/").rsplit(":", 1)[1])


async def http(port: int, request: bytes, source: str = "127.0.0.1") -> bytes:
    """Send `request` and read the answer until the server closes the connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
    try:
        writer.write(request)
        return await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()


GET = b"GET /subscribe/ccrlist HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"


async def test_the_web_app_refuses_past_its_limits_and_still_serves_others(
        tmp_path: Path, relay: RecordingRelay, controller: Controller) -> None:
    settings = web_limited(tmp_path, controller, max_connections=4, max_connections_per_ip=2)
    async with serving(settings, relay) as running:
        port = web_port(running)
        held = [(await asyncio.open_connection("127.0.0.1", port,
                                               local_addr=("127.0.0.2", 0)))[1]
                for _ in range(2)]
        assert (await http(port, GET, "127.0.0.2")).startswith(b"HTTP/1.1 429 ")
        assert (await http(port, GET)).startswith(b"HTTP/1.1 200 ")
        held += [(await asyncio.open_connection("127.0.0.1", port,
                                                local_addr=(f"127.0.0.{n}", 0)))[1]
                 for n in (3, 4)]
        refused = await http(port, GET, "127.0.0.5")
        assert refused.startswith(b"HTTP/1.1 503 ") and b"Retry-After: 10" in refused
        for writer in held:
            writer.close()
        deadline = time.monotonic() + 10
        while not (await http(port, GET, "127.0.0.5")).startswith(b"HTTP/1.1 200 "):
            assert time.monotonic() < deadline, "the closed connections were not counted out"
            await asyncio.sleep(0.05)


async def test_a_slow_web_client_is_let_go(tmp_path: Path, relay: RecordingRelay,
                                           controller: Controller) -> None:
    """Headers trickled in one byte at a time never make a request: closed at the idle
    timeout, as an idle connection is; a form's body that stalls gets 400."""
    settings = web_limited(tmp_path, controller, idle_timeout=0.5)
    async with serving(settings, relay) as running:
        port = web_port(running)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        answer = asyncio.ensure_future(reader.read())
        sent = 0
        for byte in GET[:-4]:  # never the blank line that ends the headers
            if answer.done():
                break
            try:
                writer.write(bytes([byte]))
                await writer.drain()
            except ConnectionError:
                break
            sent += 1
            await asyncio.sleep(0.05)  # deliberate delay: a slowloris client
        # Closed, never answered (a reset, when bytes were still coming, is as good).
        with contextlib.suppress(ConnectionResetError):
            assert await asyncio.wait_for(answer, 10) == b""
        assert sent < len(GET) - 4, "the trickle was never cut off"
        writer.close()
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        idle_since = time.monotonic()
        assert await asyncio.wait_for(reader.read(), 10) == b""  # sent nothing: let go
        assert time.monotonic() - idle_since >= 0.4
        writer.close()
        stalled = (b"POST /subscribe/ccrlist HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n"
                   b"Content-Type: application/x-www-form-urlencoded\r\n\r\nemail=a")
        answer = await http(port, stalled)
        assert answer.startswith(b"HTTP/1.1 400 "), answer[:60]


async def test_a_request_aiohttp_cannot_parse_is_one_info_line(
        tmp_path: Path, relay: RecordingRelay, controller: Controller,
        caplog: pytest.LogCaptureFixture) -> None:
    """Issue 19, item 9: an ERROR with a traceback for each over-long request line."""
    caplog.set_level(logging.INFO)
    async with serving(make_settings(tmp_path, controller.port), relay) as running:
        port = web_port(running)
        for _ in range(3):
            long_line = b"GET /" + b"a" * 10_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"
            assert (await http(port, long_line)).split(b"\r\n")[0].endswith(b" 400 Bad Request")
    server_records = [r for r in caplog.records if r.name == "aiohttp.server"]
    assert len(server_records) == 3
    for record in server_records:
        assert record.levelno == logging.INFO and record.exc_info is None
        assert "\n" not in record.getMessage()
        assert record.getMessage().startswith("Error handling request from 127.0.0.1: 400 ")
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_clients_sending_junk_are_counted_not_logged_per_command(
        tmp_path: Path, relay: RecordingRelay, controller: Controller,
        caplog: pytest.LogCaptureFixture) -> None:
    """aiosmtpd logs a WARNING for each unknown command of each connection (8 lines for a
    client sending 6); now a first line and a count, whatever the number of clients."""
    caplog.set_level(logging.WARNING)
    async with serving(make_settings(tmp_path, controller.port), relay) as running:
        async def junk() -> None:
            reader, writer = await asyncio.open_connection("127.0.0.1", running.port)
            assert (await reader.readline()).startswith(b"220 ")
            writer.write(b"JUNK\r\n" * 6)
            assert b"502 5.5.1" in await asyncio.wait_for(reader.read(), 10)
            writer.close()

        await asyncio.gather(*(junk() for _ in range(15)))  # within the per-client limit
    assert not [r for r in caplog.records if r.name == "mail.log"]
    counted = [r.getMessage() for r in caplog.records if r.name == "ccrlist.admission"]
    assert len(counted) == 2, counted
    assert counted[0].startswith("SMTP client sent an unknown command (from 127.0.0.1)")
    assert " x SMTP client sent an unknown command" in counted[1]
    assert " x SMTP client closed after too many unknown commands" in counted[1]
