"""Assemble the aiohttp application and run it until asked to stop (for `ccrlist serve`)."""

from __future__ import annotations

import asyncio
import time

from aiohttp import web

from ccrlist.config.secret import load_or_create_secret
from ccrlist.config.settings import Settings
from ccrlist.notices import Clock
from ccrlist.web.background import Background
from ccrlist.web.handlers import Handlers
from ccrlist.web.pages import Pages, make_environment
from ccrlist.web.security import SECURITY_HEADERS
from subscribers.db import Connection, open_database

TOKEN = r"{token:[A-Za-z0-9_-]{16,64}}"
LIST = r"{list:[a-z0-9][a-z0-9._-]{0,63}}"
MAX_FORM_BYTES = 16 * 1024
BACKGROUND = web.AppKey("background", Background)


async def _add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)


async def _finish_background(app: web.Application) -> None:
    await app[BACKGROUND].drain()


def make_app(conn: Connection, settings: Settings, secret: bytes,
             clock: Clock = time.time, background: Background | None = None) -> web.Application:
    """The web app over an open, migrated connection.

    Work left for after a page is answered runs on `background` (a new one by default,
    kept as `app[BACKGROUND]`) and is finished when the app is cleaned up.
    """
    app = web.Application(client_max_size=MAX_FORM_BYTES)
    app[BACKGROUND] = background or Background()
    h = Handlers(conn, settings, secret, Pages(make_environment()), clock, app[BACKGROUND])
    app.router.add_get(f"/subscribe/{LIST}", h.subscribe_form)
    app.router.add_post(f"/subscribe/{LIST}", h.subscribe_post)
    # For anyone, e.g. a reader of the newsletter's public web copy: no token needed.
    app.router.add_get(f"/unsubscribe/{LIST}", h.leave_form)
    app.router.add_post(f"/unsubscribe/{LIST}", h.leave_post)
    app.router.add_get(f"/confirm/{TOKEN}", h.confirm_page)
    app.router.add_post(f"/confirm/{TOKEN}", h.confirm_post)
    app.router.add_get(f"/u/{TOKEN}", h.unsubscribe_page)
    app.router.add_post(f"/u/{TOKEN}", h.unsubscribe_post)
    app.on_response_prepare.append(_add_security_headers)
    app.on_cleanup.append(_finish_background)
    return app


async def start_web(settings: Settings, conn: Connection,
                    clock: Clock = time.time) -> web.AppRunner:
    """Listen on `[web] host:port`; the caller cleans the runner up. Bind errors raise."""
    secret = load_or_create_secret(settings.data_dir)
    runner = web.AppRunner(make_app(conn, settings, secret, clock))
    await runner.setup()
    try:
        await web.TCPSite(runner, settings.web.host, settings.web.port).start()
    except BaseException:
        await runner.cleanup()
        raise
    return runner


def web_urls(runner: web.AppRunner) -> str:
    """Where a started runner listens, for the log."""
    return ", ".join(f"http://{addr[0]}:{addr[1]}/" for addr in runner.addresses)


async def run_web(settings: Settings, stop_event: asyncio.Event,
                  clock: Clock = time.time) -> None:
    """Serve on `[web] host:port` until `stop_event` is set, with a connection of its own."""
    conn = await open_database(settings.database_path)
    try:
        runner = await start_web(settings, conn, clock)
        try:
            await stop_event.wait()
        finally:
            await runner.cleanup()
    finally:
        await conn.close()
