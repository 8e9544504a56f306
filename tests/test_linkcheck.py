"""Link checking against a real HTTP server on loopback, and the clean skip without network."""

from __future__ import annotations

from aiohttp import web
from aiohttp.test_utils import TestServer

from echronicle.checks.links import check_links


async def _server() -> TestServer:
    async def ok(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def no_head(request: web.Request) -> web.Response:
        if request.method == "HEAD":
            return web.Response(status=405)
        return web.Response(text="ok")

    async def moved(request: web.Request) -> web.Response:
        raise web.HTTPFound("/ok")

    app = web.Application()
    app.router.add_route("*", "/ok", ok)
    app.router.add_route("*", "/no-head", no_head)
    app.router.add_route("*", "/moved", moved)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    return server


async def test_broken_links_are_reported() -> None:
    server = await _server()
    try:
        base = str(server.make_url("")).rstrip("/")
        urls = [f"{base}/ok", f"{base}/moved", f"{base}/no-head", f"{base}/missing",
                f"{base}/ok", "mailto:info@ccrweb.ca"]
        report = await check_links(urls, timeout=10)
    finally:
        await server.close()
    assert report.checked == 4
    assert report.broken == ((f"{base}/missing", "HTTP 404"),)
    assert report.skipped_reason == ""


async def test_without_network_the_check_is_skipped() -> None:
    report = await check_links(["https://ccr-link-check.invalid/page"], timeout=5)
    assert report.skipped_reason.startswith("no network")
    assert report.broken == ()


async def test_nothing_to_check() -> None:
    report = await check_links(["mailto:a@example.org"])
    assert (report.checked, report.broken) == (0, ())
