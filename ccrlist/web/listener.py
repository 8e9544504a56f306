"""The web app's listening socket: a bound on connections in all and per client, a deadline
for each request, and one INFO line (no traceback) for a request aiohttp cannot parse.

aiohttp's `keepalive_timeout` closes a connection that has not sent a whole request
within that many seconds of connecting or of its previous answer (a slow client that
trickles its headers, or an idle one); the form's body has the same time again
(`handlers.read_form`). aiohttp would log an ERROR with a traceback for each request
line over 8 KB: that is the client's mistake, not ours.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from ccrlist.admission.flood import FloodLog
from ccrlist.admission.gate import Door
from ccrlist.admission.limits import ConnectionCounter, Refusal, networks
from ccrlist.config.settings import WebSettings

LINGERING_SECONDS = 10.0


def _refusal(status: str) -> bytes:
    body = b"Too many connections; please try again in a moment.\n"
    head = (f"HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\n"
            f"Content-Length: {len(body)}\r\nRetry-After: 10\r\nConnection: close\r\n\r\n")
    return head.encode() + body


REFUSALS: Mapping[Refusal, bytes] = {"total": _refusal("503 Service Unavailable"),
                                     "per_ip": _refusal("429 Too Many Requests")}


class ClientErrorLog(logging.LoggerAdapter[logging.Logger]):
    """aiohttp's server logger: what it could not parse (a 400) is one INFO line."""

    def exception(self, msg: object, *args: object, exc_info: Any = True,
                  **kwargs: Any) -> None:
        error = exc_info if isinstance(exc_info, BaseException) else sys.exc_info()[1]
        if isinstance(error, HttpProcessingError):
            said = " ".join(str(error.message).split())  # aiohttp's messages span lines
            self.logger.info("%s: %d %s", str(msg) % args, error.code, said)
            return
        self.logger.exception(msg, *args, exc_info=exc_info, **kwargs)


@dataclass
class WebListener:
    """A started web app and the socket it listens on."""

    runner: web.AppRunner
    server: asyncio.Server

    def urls(self) -> str:
        return ", ".join(f"http://{s.getsockname()[0]}:{s.getsockname()[1]}/"
                         for s in self.server.sockets)

    async def close(self) -> None:
        """Stop listening, then close open connections and clean the app up."""
        self.server.close()
        await self.runner.cleanup()


async def listen(app: web.Application, settings: WebSettings, flood: FloodLog,
                 max_connections: int) -> WebListener:
    """Serve `app` on `settings.host:port`; bind errors raise (nothing is left open)."""
    runner = web.AppRunner(app, keepalive_timeout=settings.idle_timeout,
                           # after an answer, the unread rest of a body is read and dropped
                           # for this long at most (aiohttp's default is 10 s)
                           lingering_time=min(LINGERING_SECONDS, settings.idle_timeout),
                           logger=ClientErrorLog(logging.getLogger("aiohttp.server")))
    await runner.setup()
    server_factory = runner.server
    assert server_factory is not None  # set by setup()
    door = Door("web", ConnectionCounter(max_connections, settings.max_connections_per_ip,
                                         networks(settings.trusted_proxies)),
                REFUSALS, flood,
                {"total": f"over {max_connections} connections in all",
                 "per_ip": f"over [web] max_connections_per_ip "
                           f"({settings.max_connections_per_ip})"})
    try:
        server = await asyncio.get_running_loop().create_server(
            door.factory(server_factory), settings.host, settings.port)
    except BaseException:
        await runner.cleanup()
        raise
    return WebListener(runner, server)
