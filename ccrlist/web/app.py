"""Assemble the aiohttp application and run it until asked to stop (for `ccrlist serve`)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from aiohttp import web

from ccrlist.admission.flood import FloodLog
from ccrlist.config.secret import load_or_create_secret
from ccrlist.config.settings import Settings
from ccrlist.notices import Clock
from ccrlist.web.archive import add_archive_routes
from ccrlist.web.background import Background
from ccrlist.web.handlers import Handlers
from ccrlist.web.listener import WebListener, listen
from ccrlist.web.pages import Pages, make_environment
from ccrlist.web.security import SECURITY_HEADERS
from ccrlist.web.subscription import SubscriptionPage
from subscribers.db import Connection, open_database
from subscribers.models import LIST_NAME_PATTERN, TOKEN_PATTERN

TOKEN = f"{{token:{TOKEN_PATTERN}}}"  # aiohttp matches a route's pattern as a whole
LIST = f"{{list:{LIST_NAME_PATTERN}}}"
MAX_FORM_BYTES = 16 * 1024
BACKGROUND = web.AppKey("background", Background)


async def _add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)


async def _finish_background(app: web.Application) -> None:
    await app[BACKGROUND].drain()


def make_app(conn: Connection, settings: Settings, secret: bytes,
             clock: Clock = time.time, background: Background | None = None,
             archive_db: Connection | None = None,
             on_queued: Callable[[], None] | None = None) -> web.Application:
    """The web app over an open, migrated connection.

    Work left for after a page is answered runs on `background` (a new one by default,
    kept as `app[BACKGROUND]`) and is finished when the app is cleaned up. `on_queued`
    is called when a page has queued mail (a confirmation): `serve` wakes its worker.
    """
    app = web.Application(client_max_size=MAX_FORM_BYTES)
    app[BACKGROUND] = background or Background()
    pages = Pages(make_environment())
    # One connection, so one write transaction at a time across every handler.
    writing = asyncio.Lock()
    h = Handlers(conn, settings, secret, pages, clock, app[BACKGROUND], on_queued, writing)
    own = SubscriptionPage(conn, settings, secret, pages, clock, writing)
    app.router.add_get(f"/subscribe/{LIST}", h.subscribe_form)
    app.router.add_post(f"/subscribe/{LIST}", h.subscribe_post)
    # For anyone, e.g. a reader of the newsletter's public web copy: no token needed.
    app.router.add_get(f"/unsubscribe/{LIST}", h.leave_form)
    app.router.add_post(f"/unsubscribe/{LIST}", h.leave_post)
    app.router.add_get(f"/confirm/{TOKEN}", h.confirm_page)
    app.router.add_post(f"/confirm/{TOKEN}", h.confirm_post)
    app.router.add_get(f"/u/{TOKEN}", own.show)
    app.router.add_post(f"/u/{TOKEN}", own.post)
    add_archive_routes(app, archive_db or conn, settings, secret, clock, app[BACKGROUND],
                       on_queued or (lambda: None))
    app.on_response_prepare.append(_add_security_headers)
    app.on_cleanup.append(_finish_background)
    return app


async def start_web(settings: Settings, conn: Connection, clock: Clock = time.time,
                    archive_db: Connection | None = None,
                    on_queued: Callable[[], None] | None = None,
                    flood: FloodLog | None = None,
                    max_connections: int | None = None) -> WebListener:
    """Listen on `[web] host:port`; the caller closes the listener. Bind errors raise.

    The archive's pages read `archive_db` (`conn` when None); `on_queued` wakes the
    delivery worker when a page queues mail. `max_connections` overrides `[web]
    max_connections` (serve lowers it to fit the open-files limit); refusals are counted
    in `flood`.
    """
    secret = load_or_create_secret(settings.data_dir)
    app = make_app(conn, settings, secret, clock, archive_db=archive_db, on_queued=on_queued)
    return await listen(app, settings.web, flood or FloodLog(),
                        max_connections or settings.web.max_connections)


async def run_web(settings: Settings, stop_event: asyncio.Event,
                  clock: Clock = time.time) -> None:
    """Serve on `[web] host:port` until `stop_event` is set, with a connection of its own."""
    conn = await open_database(settings.database_path)
    try:
        listener = await start_web(settings, conn, clock)
        try:
            await stop_event.wait()
        finally:
            await listener.close()
    finally:
        await conn.close()
